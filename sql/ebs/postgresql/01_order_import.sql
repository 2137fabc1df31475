-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 01_order_import of the EBS stand-in (postgresql).

CREATE TABLE oe_order_sources (
	order_source_id BIGINT NOT NULL,
	name VARCHAR(240) NOT NULL,
	description VARCHAR(2000),
	enabled_flag VARCHAR(1) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX oe_order_sources_u1 ON oe_order_sources (order_source_id);

CREATE TABLE oe_headers_iface_all (
	order_source_id BIGINT NOT NULL,
	orig_sys_document_ref VARCHAR(50) NOT NULL,
	change_sequence VARCHAR(50),
	operation_code VARCHAR(30),
	org_id BIGINT,
	order_type_id BIGINT,
	order_type VARCHAR(30),
	ordered_date TIMESTAMP WITHOUT TIME ZONE,
	customer_po_number VARCHAR(50),
	sold_to_org_id BIGINT,
	customer_number VARCHAR(30),
	ship_to_org_id BIGINT,
	invoice_to_org_id BIGINT,
	ship_from_org_id BIGINT,
	price_list_id BIGINT,
	transactional_curr_code VARCHAR(15),
	conversion_type_code VARCHAR(30),
	salesrep_id BIGINT,
	payment_term_id BIGINT,
	shipping_method_code VARCHAR(30),
	freight_terms_code VARCHAR(30),
	booked_flag VARCHAR(1),
	ready_flag VARCHAR(1),
	error_flag VARCHAR(1),
	rejected_flag VARCHAR(1),
	force_apply_flag VARCHAR(1),
	request_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX oe_headers_iface_all_n1 ON oe_headers_iface_all (order_source_id, orig_sys_document_ref);

CREATE INDEX oe_headers_iface_all_n2 ON oe_headers_iface_all (request_id);

CREATE TABLE oe_lines_iface_all (
	order_source_id BIGINT NOT NULL,
	orig_sys_document_ref VARCHAR(50) NOT NULL,
	orig_sys_line_ref VARCHAR(50),
	orig_sys_shipment_ref VARCHAR(50),
	change_sequence VARCHAR(50),
	operation_code VARCHAR(30),
	org_id BIGINT,
	line_number BIGINT,
	line_type_id BIGINT,
	inventory_item_id BIGINT,
	inventory_item VARCHAR(2000),
	ordered_quantity NUMERIC,
	order_quantity_uom VARCHAR(3),
	unit_selling_price NUMERIC,
	unit_list_price NUMERIC,
	calculate_price_flag VARCHAR(1),
	price_list_id BIGINT,
	ship_from_org_id BIGINT,
	ship_to_org_id BIGINT,
	invoice_to_org_id BIGINT,
	request_date TIMESTAMP WITHOUT TIME ZONE,
	schedule_ship_date TIMESTAMP WITHOUT TIME ZONE,
	error_flag VARCHAR(1),
	rejected_flag VARCHAR(1),
	request_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX oe_lines_iface_all_n1 ON oe_lines_iface_all (order_source_id, orig_sys_document_ref, orig_sys_line_ref);

CREATE TABLE oe_processing_msgs (
	transaction_id BIGINT NOT NULL,
	request_id BIGINT,
	entity_code VARCHAR(30),
	entity_ref VARCHAR(50),
	entity_id BIGINT,
	header_id BIGINT,
	line_id BIGINT,
	order_source_id BIGINT,
	original_sys_document_ref VARCHAR(50),
	original_sys_document_line_ref VARCHAR(50),
	orig_sys_shipment_ref VARCHAR(50),
	change_sequence VARCHAR(50),
	attribute_code VARCHAR(30),
	message_text VARCHAR(2000),
	type VARCHAR(30),
	message_source_code VARCHAR(1),
	message_status_code VARCHAR(30),
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX oe_processing_msgs_n1 ON oe_processing_msgs (order_source_id, original_sys_document_ref);

CREATE INDEX oe_processing_msgs_n2 ON oe_processing_msgs (request_id);

CREATE UNIQUE INDEX oe_processing_msgs_u1 ON oe_processing_msgs (transaction_id);

CREATE TABLE oe_processing_msgs_tl (
	transaction_id BIGINT NOT NULL,
	language VARCHAR(4) NOT NULL,
	source_lang VARCHAR(4) NOT NULL,
	message_text VARCHAR(2000),
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX oe_processing_msgs_tl_u1 ON oe_processing_msgs_tl (transaction_id, language);

CREATE TABLE fnd_concurrent_requests (
	request_id BIGINT NOT NULL,
	program_application_id BIGINT NOT NULL,
	concurrent_program_id BIGINT NOT NULL,
	phase_code VARCHAR(1) NOT NULL,
	status_code VARCHAR(1) NOT NULL,
	argument_text VARCHAR(240),
	requested_by BIGINT NOT NULL,
	request_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	actual_start_date TIMESTAMP WITHOUT TIME ZONE,
	actual_completion_date TIMESTAMP WITHOUT TIME ZONE,
	completion_text VARCHAR(240),
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL
);

CREATE UNIQUE INDEX fnd_concurrent_requests_u1 ON fnd_concurrent_requests (request_id);
