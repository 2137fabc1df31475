-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 04_pricing of the EBS stand-in (sqlite).

CREATE TABLE qp_list_headers_b (
	list_header_id BIGINT NOT NULL,
	list_type_code VARCHAR(30) NOT NULL,
	currency_code VARCHAR(30),
	active_flag VARCHAR(1),
	start_date_active DATETIME,
	end_date_active DATETIME,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX qp_list_headers_b_u1 ON qp_list_headers_b (list_header_id);

CREATE TABLE qp_list_headers_tl (
	list_header_id BIGINT NOT NULL,
	language VARCHAR(4) NOT NULL,
	source_lang VARCHAR(4) NOT NULL,
	name VARCHAR(240) NOT NULL,
	description VARCHAR(2000),
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX qp_list_headers_tl_u1 ON qp_list_headers_tl (list_header_id, language);

CREATE TABLE qp_list_lines (
	list_line_id BIGINT NOT NULL,
	list_header_id BIGINT NOT NULL,
	list_line_type_code VARCHAR(30) NOT NULL,
	arithmetic_operator VARCHAR(30),
	operand NUMERIC,
	start_date_active DATETIME,
	end_date_active DATETIME,
	product_precedence BIGINT,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX qp_list_lines_n1 ON qp_list_lines (list_header_id);

CREATE UNIQUE INDEX qp_list_lines_pk ON qp_list_lines (list_line_id);

CREATE TABLE qp_pricing_attributes (
	pricing_attribute_id BIGINT NOT NULL,
	list_line_id BIGINT NOT NULL,
	list_header_id BIGINT,
	product_attribute_context VARCHAR(30),
	product_attribute VARCHAR(30),
	product_attr_value VARCHAR(240),
	product_uom_code VARCHAR(3),
	excluder_flag VARCHAR(1) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX qp_pricing_attributes_n1 ON qp_pricing_attributes (list_line_id);

CREATE INDEX qp_pricing_attributes_n2 ON qp_pricing_attributes (product_attribute_context, product_attribute, product_attr_value);

CREATE UNIQUE INDEX qp_pricing_attributes_pk ON qp_pricing_attributes (pricing_attribute_id);

CREATE VIEW qp_price_list_lines_v AS SELECT qp_list_lines.list_header_id, qp_list_lines.list_line_id, qp_list_lines.list_line_type_code, qp_list_lines.arithmetic_operator, qp_pricing_attributes.product_attribute_context, qp_pricing_attributes.product_attribute, qp_pricing_attributes.product_attr_value, qp_pricing_attributes.product_uom_code, qp_list_lines.operand, qp_list_lines.start_date_active, qp_list_lines.end_date_active, qp_list_lines.product_precedence
FROM qp_list_lines JOIN qp_pricing_attributes ON qp_pricing_attributes.list_line_id = qp_list_lines.list_line_id;
