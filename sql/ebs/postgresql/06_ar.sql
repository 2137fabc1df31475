-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 06_ar of the EBS stand-in (postgresql).

CREATE TABLE ra_customer_trx_all (
	customer_trx_id BIGINT NOT NULL,
	trx_number VARCHAR(20) NOT NULL,
	trx_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	cust_trx_type_id BIGINT NOT NULL,
	batch_source_id BIGINT,
	bill_to_customer_id BIGINT,
	bill_to_site_use_id BIGINT,
	ship_to_customer_id BIGINT,
	ship_to_site_use_id BIGINT,
	sold_to_customer_id BIGINT,
	term_id BIGINT,
	invoice_currency_code VARCHAR(15),
	complete_flag VARCHAR(1) NOT NULL,
	purchase_order VARCHAR(50),
	ct_reference VARCHAR(150),
	interface_header_context VARCHAR(30),
	interface_header_attribute1 VARCHAR(150),
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX ra_customer_trx_n1 ON ra_customer_trx_all (interface_header_attribute1);

CREATE INDEX ra_customer_trx_n2 ON ra_customer_trx_all (last_update_date);

CREATE UNIQUE INDEX ra_customer_trx_u1 ON ra_customer_trx_all (customer_trx_id);

CREATE TABLE ra_customer_trx_lines_all (
	customer_trx_line_id BIGINT NOT NULL,
	customer_trx_id BIGINT NOT NULL,
	line_number BIGINT NOT NULL,
	line_type VARCHAR(20) NOT NULL,
	description VARCHAR(240),
	inventory_item_id BIGINT,
	quantity_invoiced NUMERIC,
	unit_selling_price NUMERIC,
	extended_amount NUMERIC NOT NULL,
	sales_order VARCHAR(50),
	sales_order_line VARCHAR(30),
	sales_order_date TIMESTAMP WITHOUT TIME ZONE,
	interface_line_context VARCHAR(30),
	interface_line_attribute1 VARCHAR(150),
	interface_line_attribute6 VARCHAR(150),
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX ra_customer_trx_lines_n1 ON ra_customer_trx_lines_all (customer_trx_id);

CREATE INDEX ra_customer_trx_lines_n2 ON ra_customer_trx_lines_all (sales_order);

CREATE UNIQUE INDEX ra_customer_trx_lines_u1 ON ra_customer_trx_lines_all (customer_trx_line_id);

CREATE TABLE ar_payment_schedules_all (
	payment_schedule_id BIGINT NOT NULL,
	customer_trx_id BIGINT,
	cash_receipt_id BIGINT,
	customer_id BIGINT,
	trx_number VARCHAR(30),
	trx_date TIMESTAMP WITHOUT TIME ZONE,
	class VARCHAR(20) NOT NULL,
	status VARCHAR(30) NOT NULL,
	due_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	amount_due_original NUMERIC NOT NULL,
	amount_due_remaining NUMERIC NOT NULL,
	invoice_currency_code VARCHAR(15) NOT NULL,
	actual_date_closed TIMESTAMP WITHOUT TIME ZONE,
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX ar_payment_schedules_n1 ON ar_payment_schedules_all (customer_trx_id);

CREATE UNIQUE INDEX ar_payment_schedules_u1 ON ar_payment_schedules_all (payment_schedule_id);

CREATE TABLE ar_cash_receipts_all (
	cash_receipt_id BIGINT NOT NULL,
	receipt_number VARCHAR(30),
	receipt_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	amount NUMERIC NOT NULL,
	currency_code VARCHAR(15) NOT NULL,
	pay_from_customer BIGINT,
	receipt_method_id BIGINT,
	status VARCHAR(30),
	type VARCHAR(20) NOT NULL,
	comments VARCHAR(2000),
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX ar_cash_receipts_n1 ON ar_cash_receipts_all (last_update_date);

CREATE UNIQUE INDEX ar_cash_receipts_u1 ON ar_cash_receipts_all (cash_receipt_id);

CREATE TABLE ar_receivable_applications_all (
	receivable_application_id BIGINT NOT NULL,
	cash_receipt_id BIGINT,
	applied_customer_trx_id BIGINT,
	applied_payment_schedule_id BIGINT,
	amount_applied NUMERIC,
	apply_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	status VARCHAR(30) NOT NULL,
	display VARCHAR(1) NOT NULL,
	application_type VARCHAR(20) NOT NULL,
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX ar_receivable_applications_n1 ON ar_receivable_applications_all (applied_customer_trx_id);

CREATE UNIQUE INDEX ar_receivable_applications_u1 ON ar_receivable_applications_all (receivable_application_id);
