-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 02_order_base of the EBS stand-in (postgresql).

CREATE TABLE oe_order_headers_all (
	header_id BIGINT NOT NULL,
	org_id BIGINT,
	order_type_id BIGINT NOT NULL,
	order_number BIGINT NOT NULL,
	order_source_id BIGINT,
	orig_sys_document_ref VARCHAR(50),
	source_document_type_id BIGINT,
	ordered_date TIMESTAMP WITHOUT TIME ZONE,
	request_date TIMESTAMP WITHOUT TIME ZONE,
	cust_po_number VARCHAR(50),
	sold_to_org_id BIGINT,
	ship_to_org_id BIGINT,
	invoice_to_org_id BIGINT,
	ship_from_org_id BIGINT,
	price_list_id BIGINT,
	transactional_curr_code VARCHAR(15),
	salesrep_id BIGINT,
	payment_term_id BIGINT,
	shipping_method_code VARCHAR(30),
	freight_terms_code VARCHAR(30),
	booked_flag VARCHAR(1) NOT NULL,
	booked_date TIMESTAMP WITHOUT TIME ZONE,
	open_flag VARCHAR(1) NOT NULL,
	cancelled_flag VARCHAR(1),
	flow_status_code VARCHAR(30),
	change_sequence VARCHAR(50),
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX oe_order_headers_n1 ON oe_order_headers_all (order_source_id, orig_sys_document_ref);

CREATE INDEX oe_order_headers_n2 ON oe_order_headers_all (last_update_date);

CREATE UNIQUE INDEX oe_order_headers_u1 ON oe_order_headers_all (header_id);

CREATE UNIQUE INDEX oe_order_headers_u2 ON oe_order_headers_all (order_number, order_type_id);

CREATE TABLE oe_order_lines_all (
	line_id BIGINT NOT NULL,
	header_id BIGINT NOT NULL,
	org_id BIGINT,
	line_type_id BIGINT NOT NULL,
	line_number BIGINT NOT NULL,
	shipment_number BIGINT NOT NULL,
	order_source_id BIGINT,
	orig_sys_document_ref VARCHAR(50),
	orig_sys_line_ref VARCHAR(50),
	orig_sys_shipment_ref VARCHAR(50),
	inventory_item_id BIGINT NOT NULL,
	ordered_item VARCHAR(2000),
	ordered_quantity NUMERIC,
	order_quantity_uom VARCHAR(3),
	shipped_quantity NUMERIC,
	invoiced_quantity NUMERIC,
	unit_selling_price NUMERIC,
	unit_list_price NUMERIC,
	calculate_price_flag VARCHAR(1),
	price_list_id BIGINT,
	ship_from_org_id BIGINT,
	ship_to_org_id BIGINT,
	invoice_to_org_id BIGINT,
	sold_to_org_id BIGINT,
	request_date TIMESTAMP WITHOUT TIME ZONE,
	schedule_ship_date TIMESTAMP WITHOUT TIME ZONE,
	actual_shipment_date TIMESTAMP WITHOUT TIME ZONE,
	shipping_method_code VARCHAR(30),
	booked_flag VARCHAR(1) NOT NULL,
	open_flag VARCHAR(1) NOT NULL,
	cancelled_flag VARCHAR(1),
	flow_status_code VARCHAR(30),
	invoice_interface_status_code VARCHAR(30),
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX oe_order_lines_n1 ON oe_order_lines_all (header_id);

CREATE INDEX oe_order_lines_n2 ON oe_order_lines_all (last_update_date);

CREATE UNIQUE INDEX oe_order_lines_u1 ON oe_order_lines_all (line_id);
