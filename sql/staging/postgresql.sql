-- Generated from prestaoracle.staging.schema by `python -m prestaoracle.staging.ddl`; do not edit.
-- Staging schema at Alembic revision 0007 (postgresql).

CREATE TABLE landing_records (
	source VARCHAR(50) NOT NULL,
	entity VARCHAR(50) NOT NULL,
	record_id VARCHAR(100) NOT NULL,
	date_upd VARCHAR(40),
	payload TEXT NOT NULL,
	payload_sha1 VARCHAR(40) NOT NULL,
	run_id VARCHAR(250) NOT NULL,
	extracted_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	mapped_sha1 VARCHAR(40),
	CONSTRAINT pk_landing_records PRIMARY KEY (source, entity, record_id)
);

CREATE INDEX ix_landing_records_run_id_source_entity ON landing_records (run_id, source, entity);

CREATE INDEX ix_landing_records_source_entity_date_upd ON landing_records (source, entity, date_upd);

COMMENT ON TABLE landing_records IS 'Latest raw payload per source record; run_id/extracted_at are those of the run that last changed it.';

COMMENT ON COLUMN landing_records.mapped_sha1 IS 'payload_sha1 of the version map_landed last wrote to its canonical table; NULL: never mapped';

CREATE TABLE landing_history (
	source VARCHAR(50) NOT NULL,
	entity VARCHAR(50) NOT NULL,
	record_id VARCHAR(100) NOT NULL,
	payload_sha1 VARCHAR(40) NOT NULL,
	date_upd VARCHAR(40),
	payload TEXT NOT NULL,
	run_id VARCHAR(250) NOT NULL,
	extracted_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	CONSTRAINT pk_landing_history PRIMARY KEY (source, entity, record_id, payload_sha1)
);

CREATE INDEX ix_landing_history_run_id ON landing_history (run_id);

COMMENT ON TABLE landing_history IS 'Every distinct version of a landed record, once (opt-in per land() call).';

CREATE TABLE ps_orders (
	id_order BIGINT NOT NULL,
	reference VARCHAR(32),
	id_shop INTEGER,
	id_shop_group INTEGER,
	id_customer BIGINT,
	id_cart BIGINT,
	id_lang INTEGER,
	id_carrier INTEGER,
	id_address_delivery BIGINT,
	id_address_invoice BIGINT,
	id_currency INTEGER,
	currency_iso VARCHAR(3),
	conversion_rate NUMERIC(20, 6),
	current_state INTEGER,
	valid BOOLEAN,
	payment VARCHAR(255),
	module VARCHAR(255),
	total_paid NUMERIC(20, 6),
	total_paid_tax_incl NUMERIC(20, 6),
	total_paid_tax_excl NUMERIC(20, 6),
	total_paid_real NUMERIC(20, 6),
	total_products NUMERIC(20, 6),
	total_products_wt NUMERIC(20, 6),
	total_shipping NUMERIC(20, 6),
	total_shipping_tax_incl NUMERIC(20, 6),
	total_shipping_tax_excl NUMERIC(20, 6),
	carrier_tax_rate NUMERIC(10, 3),
	total_discounts NUMERIC(20, 6),
	total_discounts_tax_incl NUMERIC(20, 6),
	total_discounts_tax_excl NUMERIC(20, 6),
	total_wrapping NUMERIC(20, 6),
	total_wrapping_tax_incl NUMERIC(20, 6),
	total_wrapping_tax_excl NUMERIC(20, 6),
	invoice_number BIGINT,
	invoice_date TIMESTAMP WITHOUT TIME ZONE,
	delivery_date TIMESTAMP WITHOUT TIME ZONE,
	note TEXT,
	date_add TIMESTAMP WITHOUT TIME ZONE,
	date_upd TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_orders PRIMARY KEY (id_order),
	CONSTRAINT ck_ps_orders_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_orders_current_state ON ps_orders (current_state);

CREATE INDEX ix_ps_orders_date_upd ON ps_orders (date_upd);

CREATE INDEX ix_ps_orders_dq_status ON ps_orders (dq_status);

CREATE INDEX ix_ps_orders_id_customer ON ps_orders (id_customer);

CREATE INDEX ix_ps_orders_reference ON ps_orders (reference);

COMMENT ON COLUMN ps_orders.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_order_lines (
	id_order_detail BIGINT NOT NULL,
	id_order BIGINT NOT NULL,
	id_shop INTEGER,
	product_id BIGINT,
	product_attribute_id BIGINT,
	sku VARCHAR(64),
	name VARCHAR(255),
	ean13 VARCHAR(13),
	quantity INTEGER,
	quantity_refunded INTEGER,
	quantity_return INTEGER,
	product_price NUMERIC(20, 6),
	original_product_price NUMERIC(20, 6),
	reduction_amount_tax_excl NUMERIC(20, 6),
	reduction_amount_tax_incl NUMERIC(20, 6),
	unit_price_tax_excl NUMERIC(20, 6),
	unit_price_tax_incl NUMERIC(20, 6),
	total_price_tax_excl NUMERIC(20, 6),
	total_price_tax_incl NUMERIC(20, 6),
	tax_rate NUMERIC(10, 3),
	id_warehouse INTEGER,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_order_lines PRIMARY KEY (id_order_detail),
	CONSTRAINT ck_ps_order_lines_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_order_lines_dq_status ON ps_order_lines (dq_status);

CREATE INDEX ix_ps_order_lines_id_order ON ps_order_lines (id_order);

CREATE INDEX ix_ps_order_lines_sku ON ps_order_lines (sku);

COMMENT ON COLUMN ps_order_lines.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_customers (
	id_customer BIGINT NOT NULL,
	email VARCHAR(255),
	firstname VARCHAR(255),
	lastname VARCHAR(255),
	company VARCHAR(255),
	siret VARCHAR(14),
	id_gender INTEGER,
	birthday DATE,
	id_lang INTEGER,
	id_default_group INTEGER,
	id_shop INTEGER,
	newsletter BOOLEAN,
	optin BOOLEAN,
	active BOOLEAN,
	is_guest BOOLEAN,
	deleted BOOLEAN,
	date_add TIMESTAMP WITHOUT TIME ZONE,
	date_upd TIMESTAMP WITHOUT TIME ZONE,
	cost_center VARCHAR(50),
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_customers PRIMARY KEY (id_customer),
	CONSTRAINT ck_ps_customers_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_customers_date_upd ON ps_customers (date_upd);

CREATE INDEX ix_ps_customers_dq_status ON ps_customers (dq_status);

CREATE INDEX ix_ps_customers_email ON ps_customers (email);

COMMENT ON COLUMN ps_customers.cost_center IS 'enriched by the mapping from the customer group';

COMMENT ON COLUMN ps_customers.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_addresses (
	id_address BIGINT NOT NULL,
	id_customer BIGINT,
	alias VARCHAR(32),
	company VARCHAR(255),
	firstname VARCHAR(255),
	lastname VARCHAR(255),
	address1 VARCHAR(128),
	address2 VARCHAR(128),
	postcode VARCHAR(12),
	city VARCHAR(64),
	id_country INTEGER,
	country_iso VARCHAR(3),
	id_state INTEGER,
	state_iso VARCHAR(7),
	phone VARCHAR(32),
	phone_mobile VARCHAR(32),
	vat_number VARCHAR(32),
	dni VARCHAR(16),
	deleted BOOLEAN,
	date_add TIMESTAMP WITHOUT TIME ZONE,
	date_upd TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_addresses PRIMARY KEY (id_address),
	CONSTRAINT ck_ps_addresses_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_addresses_date_upd ON ps_addresses (date_upd);

CREATE INDEX ix_ps_addresses_dq_status ON ps_addresses (dq_status);

CREATE INDEX ix_ps_addresses_id_customer ON ps_addresses (id_customer);

COMMENT ON COLUMN ps_addresses.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_products (
	id_product BIGINT NOT NULL,
	sku VARCHAR(64),
	name VARCHAR(255),
	product_type VARCHAR(32),
	price NUMERIC(20, 6),
	wholesale_price NUMERIC(20, 6),
	id_tax_rules_group INTEGER,
	id_default_combination BIGINT,
	ean13 VARCHAR(13),
	active BOOLEAN,
	date_add TIMESTAMP WITHOUT TIME ZONE,
	date_upd TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_products PRIMARY KEY (id_product),
	CONSTRAINT ck_ps_products_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_products_date_upd ON ps_products (date_upd);

CREATE INDEX ix_ps_products_dq_status ON ps_products (dq_status);

CREATE INDEX ix_ps_products_sku ON ps_products (sku);

COMMENT ON COLUMN ps_products.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_combinations (
	id_product_attribute BIGINT NOT NULL,
	id_product BIGINT NOT NULL,
	sku VARCHAR(64),
	ean13 VARCHAR(13),
	price NUMERIC(20, 6),
	wholesale_price NUMERIC(20, 6),
	minimal_quantity INTEGER,
	default_on BOOLEAN,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_combinations PRIMARY KEY (id_product_attribute),
	CONSTRAINT ck_ps_combinations_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_combinations_dq_status ON ps_combinations (dq_status);

CREATE INDEX ix_ps_combinations_id_product ON ps_combinations (id_product);

CREATE INDEX ix_ps_combinations_sku ON ps_combinations (sku);

COMMENT ON COLUMN ps_combinations.price IS 'price impact over the product price (can be negative)';

COMMENT ON COLUMN ps_combinations.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_stock (
	id_stock_available BIGINT NOT NULL,
	id_product BIGINT NOT NULL,
	id_product_attribute BIGINT NOT NULL,
	id_shop INTEGER,
	id_shop_group INTEGER,
	sku VARCHAR(64),
	quantity INTEGER,
	depends_on_stock BOOLEAN,
	out_of_stock INTEGER,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_stock PRIMARY KEY (id_stock_available),
	CONSTRAINT ck_ps_stock_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_stock_dq_status ON ps_stock (dq_status);

CREATE INDEX ix_ps_stock_id_product_id_product_attribute ON ps_stock (id_product, id_product_attribute);

CREATE INDEX ix_ps_stock_sku ON ps_stock (sku);

COMMENT ON COLUMN ps_stock.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_order_payments (
	id_order_payment BIGINT NOT NULL,
	order_reference VARCHAR(32),
	id_currency INTEGER,
	currency_iso VARCHAR(3),
	amount NUMERIC(20, 6),
	payment_method VARCHAR(255),
	conversion_rate NUMERIC(20, 6),
	transaction_id VARCHAR(254),
	card_brand VARCHAR(254),
	card_last4 VARCHAR(4),
	date_add TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_order_payments PRIMARY KEY (id_order_payment),
	CONSTRAINT ck_ps_order_payments_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_order_payments_date_add ON ps_order_payments (date_add);

CREATE INDEX ix_ps_order_payments_dq_status ON ps_order_payments (dq_status);

CREATE INDEX ix_ps_order_payments_order_reference ON ps_order_payments (order_reference);

COMMENT ON COLUMN ps_order_payments.card_last4 IS 'never the full card number';

COMMENT ON COLUMN ps_order_payments.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_order_slips (
	id_order_slip BIGINT NOT NULL,
	id_order BIGINT NOT NULL,
	id_customer BIGINT,
	conversion_rate NUMERIC(20, 6),
	total_products_tax_excl NUMERIC(20, 6),
	total_products_tax_incl NUMERIC(20, 6),
	total_shipping_tax_excl NUMERIC(20, 6),
	total_shipping_tax_incl NUMERIC(20, 6),
	amount NUMERIC(20, 6),
	shipping_cost BOOLEAN,
	shipping_cost_amount NUMERIC(20, 6),
	partial BOOLEAN,
	order_slip_type INTEGER,
	date_add TIMESTAMP WITHOUT TIME ZONE,
	date_upd TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_order_slips PRIMARY KEY (id_order_slip),
	CONSTRAINT ck_ps_order_slips_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_order_slips_date_upd ON ps_order_slips (date_upd);

CREATE INDEX ix_ps_order_slips_dq_status ON ps_order_slips (dq_status);

CREATE INDEX ix_ps_order_slips_id_order ON ps_order_slips (id_order);

COMMENT ON COLUMN ps_order_slips.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_order_carriers (
	id_order_carrier BIGINT NOT NULL,
	id_order BIGINT NOT NULL,
	id_carrier INTEGER,
	id_order_invoice BIGINT,
	weight NUMERIC(20, 6),
	shipping_cost_tax_excl NUMERIC(20, 6),
	shipping_cost_tax_incl NUMERIC(20, 6),
	tracking_number VARCHAR(64),
	date_add TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_order_carriers PRIMARY KEY (id_order_carrier),
	CONSTRAINT ck_ps_order_carriers_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_order_carriers_dq_status ON ps_order_carriers (dq_status);

CREATE INDEX ix_ps_order_carriers_id_order ON ps_order_carriers (id_order);

COMMENT ON COLUMN ps_order_carriers.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ps_order_histories (
	id_order_history BIGINT NOT NULL,
	id_order BIGINT NOT NULL,
	id_order_state INTEGER NOT NULL,
	id_employee INTEGER,
	date_add TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ps_order_histories PRIMARY KEY (id_order_history),
	CONSTRAINT ck_ps_order_histories_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ps_order_histories_dq_status ON ps_order_histories (dq_status);

CREATE INDEX ix_ps_order_histories_id_order_date_add ON ps_order_histories (id_order, date_add);

COMMENT ON COLUMN ps_order_histories.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_sales_orders (
	header_id BIGINT NOT NULL,
	order_number VARCHAR(50),
	source_system VARCHAR(30),
	source_id VARCHAR(50),
	source_number VARCHAR(50),
	customer_po VARCHAR(50),
	business_unit VARCHAR(240),
	buying_party_id BIGINT,
	status_code VARCHAR(30),
	status VARCHAR(80),
	currency VARCHAR(15),
	total_amount NUMERIC(20, 6),
	ordered_at TIMESTAMP WITHOUT TIME ZONE,
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_sales_orders PRIMARY KEY (header_id),
	CONSTRAINT ck_ora_sales_orders_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_sales_orders_dq_status ON ora_sales_orders (dq_status);

CREATE INDEX ix_ora_sales_orders_last_update ON ora_sales_orders (last_update);

CREATE INDEX ix_ora_sales_orders_order_number ON ora_sales_orders (order_number);

CREATE INDEX ix_ora_sales_orders_source_system_source_id ON ora_sales_orders (source_system, source_id);

COMMENT ON COLUMN ora_sales_orders.source_system IS 'Fusion SourceTransactionSystem / EBS order source';

COMMENT ON COLUMN ora_sales_orders.source_id IS 'Fusion SourceTransactionId / EBS ORIG_SYS_DOCUMENT_REF';

COMMENT ON COLUMN ora_sales_orders.source_number IS 'Fusion SourceTransactionNumber (the shop reference)';

COMMENT ON COLUMN ora_sales_orders.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_order_lines (
	line_id BIGINT NOT NULL,
	header_id BIGINT NOT NULL,
	line_number VARCHAR(30),
	source_line_id VARCHAR(50),
	sku VARCHAR(300),
	ordered_quantity NUMERIC(20, 6),
	shipped_quantity NUMERIC(20, 6),
	canceled_quantity NUMERIC(20, 6),
	uom VARCHAR(25),
	unit_list_price NUMERIC(20, 6),
	unit_selling_price NUMERIC(20, 6),
	extended_amount NUMERIC(20, 6),
	status_code VARCHAR(30),
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_order_lines PRIMARY KEY (line_id),
	CONSTRAINT ck_ora_order_lines_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_order_lines_dq_status ON ora_order_lines (dq_status);

CREATE INDEX ix_ora_order_lines_header_id ON ora_order_lines (header_id);

CREATE INDEX ix_ora_order_lines_sku ON ora_order_lines (sku);

COMMENT ON COLUMN ora_order_lines.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_onhand (
	org VARCHAR(18) NOT NULL,
	sku VARCHAR(300) NOT NULL,
	quantity NUMERIC(20, 6) NOT NULL,
	available NUMERIC(20, 6),
	uom VARCHAR(25),
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_onhand PRIMARY KEY (org, sku),
	CONSTRAINT ck_ora_onhand_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_onhand_dq_status ON ora_onhand (dq_status);

CREATE INDEX ix_ora_onhand_sku ON ora_onhand (sku);

COMMENT ON COLUMN ora_onhand.quantity IS 'on hand';

COMMENT ON COLUMN ora_onhand.available IS 'available to reserve, when the source gives it';

COMMENT ON COLUMN ora_onhand.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_prices (
	price_list VARCHAR(240) NOT NULL,
	currency VARCHAR(15) NOT NULL,
	sku VARCHAR(300) NOT NULL,
	price_list_id BIGINT,
	uom VARCHAR(25),
	base_price NUMERIC(20, 6) NOT NULL,
	start_date TIMESTAMP WITHOUT TIME ZONE,
	end_date TIMESTAMP WITHOUT TIME ZONE,
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_prices PRIMARY KEY (price_list, currency, sku),
	CONSTRAINT ck_ora_prices_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_prices_dq_status ON ora_prices (dq_status);

CREATE INDEX ix_ora_prices_last_update ON ora_prices (last_update);

CREATE INDEX ix_ora_prices_sku ON ora_prices (sku);

COMMENT ON COLUMN ora_prices.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_shipment_lines (
	shipment_line_id BIGINT NOT NULL,
	order_number VARCHAR(50),
	source_order VARCHAR(50),
	source_order_line VARCHAR(50),
	sku VARCHAR(300),
	requested_quantity NUMERIC(20, 6),
	shipped_quantity NUMERIC(20, 6),
	shipment VARCHAR(50),
	line_status VARCHAR(30),
	tracking_number VARCHAR(120),
	carrier VARCHAR(360),
	ship_date TIMESTAMP WITHOUT TIME ZONE,
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_shipment_lines PRIMARY KEY (shipment_line_id),
	CONSTRAINT ck_ora_shipment_lines_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_shipment_lines_dq_status ON ora_shipment_lines (dq_status);

CREATE INDEX ix_ora_shipment_lines_last_update ON ora_shipment_lines (last_update);

CREATE INDEX ix_ora_shipment_lines_order_number ON ora_shipment_lines (order_number);

CREATE INDEX ix_ora_shipment_lines_source_order ON ora_shipment_lines (source_order);

COMMENT ON COLUMN ora_shipment_lines.source_order IS 'the source order number/reference the order was created with';

COMMENT ON COLUMN ora_shipment_lines.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_invoices (
	customer_trx_id BIGINT NOT NULL,
	transaction_number VARCHAR(50),
	transaction_date DATE,
	transaction_type VARCHAR(30),
	bill_to_account VARCHAR(30),
	currency VARCHAR(15),
	status VARCHAR(30),
	entered_amount NUMERIC(20, 6),
	balance_amount NUMERIC(20, 6),
	purchase_order VARCHAR(50),
	sales_order VARCHAR(50),
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_invoices PRIMARY KEY (customer_trx_id),
	CONSTRAINT ck_ora_invoices_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_invoices_dq_status ON ora_invoices (dq_status);

CREATE INDEX ix_ora_invoices_purchase_order ON ora_invoices (purchase_order);

CREATE INDEX ix_ora_invoices_sales_order ON ora_invoices (sales_order);

CREATE INDEX ix_ora_invoices_transaction_number ON ora_invoices (transaction_number);

COMMENT ON COLUMN ora_invoices.sales_order IS 'sales order number when the invoice names one';

COMMENT ON COLUMN ora_invoices.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_invoice_lines (
	customer_trx_line_id BIGINT NOT NULL,
	customer_trx_id BIGINT NOT NULL,
	line_number INTEGER,
	sku VARCHAR(300),
	description VARCHAR(240),
	quantity NUMERIC(20, 6),
	unit_selling_price NUMERIC(20, 6),
	line_amount NUMERIC(20, 6),
	sales_order VARCHAR(50),
	sales_order_line VARCHAR(50),
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_invoice_lines PRIMARY KEY (customer_trx_line_id),
	CONSTRAINT ck_ora_invoice_lines_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_invoice_lines_customer_trx_id ON ora_invoice_lines (customer_trx_id);

CREATE INDEX ix_ora_invoice_lines_dq_status ON ora_invoice_lines (dq_status);

CREATE INDEX ix_ora_invoice_lines_sales_order ON ora_invoice_lines (sales_order);

COMMENT ON COLUMN ora_invoice_lines.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_receipts (
	cash_receipt_id BIGINT NOT NULL,
	receipt_number VARCHAR(30),
	receipt_date DATE,
	receipt_method VARCHAR(30),
	amount NUMERIC(20, 6),
	unapplied_amount NUMERIC(20, 6),
	currency VARCHAR(15),
	customer_account VARCHAR(30),
	status VARCHAR(30),
	reference VARCHAR(150),
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_receipts PRIMARY KEY (cash_receipt_id),
	CONSTRAINT ck_ora_receipts_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_receipts_dq_status ON ora_receipts (dq_status);

CREATE INDEX ix_ora_receipts_receipt_date ON ora_receipts (receipt_date);

CREATE INDEX ix_ora_receipts_receipt_number ON ora_receipts (receipt_number);

COMMENT ON COLUMN ora_receipts.reference IS 'what the receipt was created from (e.g. the shop payment)';

COMMENT ON COLUMN ora_receipts.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE ora_accounts (
	cust_account_id BIGINT NOT NULL,
	account_number VARCHAR(30),
	party_id BIGINT,
	party_number VARCHAR(30),
	name VARCHAR(360),
	email VARCHAR(320),
	country VARCHAR(2),
	status VARCHAR(1),
	source_system VARCHAR(30),
	source_ref VARCHAR(255),
	postcode VARCHAR(60),
	city VARCHAR(60),
	phone VARCHAR(60),
	vat_number VARCHAR(50),
	last_update TIMESTAMP WITHOUT TIME ZONE,
	run_id VARCHAR(250),
	dq_status VARCHAR(12) DEFAULT 'pending' NOT NULL,
	CONSTRAINT pk_ora_accounts PRIMARY KEY (cust_account_id),
	CONSTRAINT ck_ora_accounts_dq_status CHECK (dq_status IN ('pending', 'passed', 'quarantined'))
);

CREATE INDEX ix_ora_accounts_account_number ON ora_accounts (account_number);

CREATE INDEX ix_ora_accounts_dq_status ON ora_accounts (dq_status);

CREATE INDEX ix_ora_accounts_email ON ora_accounts (email);

CREATE INDEX ix_ora_accounts_source_system_source_ref ON ora_accounts (source_system, source_ref);

COMMENT ON COLUMN ora_accounts.source_ref IS 'the source system''s own id (e.g. the shop id_customer)';

COMMENT ON COLUMN ora_accounts.postcode IS 'of the account''s primary (bill-to) address';

COMMENT ON COLUMN ora_accounts.vat_number IS 'tax registration number, when the account has one';

COMMENT ON COLUMN ora_accounts.dq_status IS 'pending until the data-quality gate says passed or quarantined';

CREATE TABLE xref (
	system VARCHAR(50) NOT NULL,
	entity VARCHAR(50) NOT NULL,
	external_id VARCHAR(200) NOT NULL,
	target VARCHAR(50) NOT NULL,
	target_id VARCHAR(200) NOT NULL,
	note VARCHAR(200),
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	run_id VARCHAR(250),
	CONSTRAINT pk_xref PRIMARY KEY (system, entity, external_id, target),
	CONSTRAINT uq_xref_system_entity_target_target_id UNIQUE (system, entity, target, target_id)
);

COMMENT ON TABLE xref IS 'Binder: one external id <-> one target id per (system, entity, target), unique both ways.';

COMMENT ON COLUMN xref.system IS 'whose id external_id is, e.g. prestashop';

COMMENT ON COLUMN xref.entity IS 'e.g. sku (product:combination), customer';

COMMENT ON COLUMN xref.target IS 'e.g. oracle';

CREATE TABLE lookup_values (
	lookup VARCHAR(50) NOT NULL,
	key VARCHAR(200) NOT NULL,
	value TEXT NOT NULL,
	note VARCHAR(200),
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	CONSTRAINT pk_lookup_values PRIMARY KEY (lookup, key)
);

COMMENT ON TABLE lookup_values IS 'Many-to-one lookup pairs added by operators; they win over the mapping configuration.';

CREATE TABLE currency_rates (
	source VARCHAR(3) NOT NULL,
	target VARCHAR(3) NOT NULL,
	valid_from DATE NOT NULL,
	rate NUMERIC(20, 10) NOT NULL,
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	CONSTRAINT pk_currency_rates PRIMARY KEY (source, target, valid_from),
	CONSTRAINT ck_currency_rates_rate_positive CHECK (rate > 0)
);

COMMENT ON TABLE currency_rates IS 'Exchange rates for the mapping''s currency conversion, by the day they take effect.';

COMMENT ON COLUMN currency_rates.rate IS 'target units per source unit';

CREATE TABLE watermarks (
	source VARCHAR(50) NOT NULL,
	entity VARCHAR(50) NOT NULL,
	value VARCHAR(100) NOT NULL,
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	run_id VARCHAR(250) NOT NULL,
	CONSTRAINT pk_watermarks PRIMARY KEY (source, entity)
);

COMMENT ON TABLE watermarks IS 'Highest cursor value committed per source entity; only moves forward, in the batch''s transaction.';

CREATE TABLE extract_checkpoints (
	source VARCHAR(50) NOT NULL,
	entity VARCHAR(50) NOT NULL,
	window_since VARCHAR(40),
	window_until VARCHAR(40) NOT NULL,
	position VARCHAR(200),
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	run_id VARCHAR(250) NOT NULL,
	CONSTRAINT pk_extract_checkpoints PRIMARY KEY (source, entity)
);

COMMENT ON TABLE extract_checkpoints IS 'The extraction window in progress per source entity, saved with every committed chunk.';

COMMENT ON COLUMN extract_checkpoints.window_since IS 'UTC; NULL = from the beginning';

COMMENT ON COLUMN extract_checkpoints.window_until IS 'UTC';

COMMENT ON COLUMN extract_checkpoints.position IS 'after what the window resumes: an id, or LastUpdateDate|id';

CREATE TABLE sync_ledger (
	target VARCHAR(50) NOT NULL,
	record_key VARCHAR(200) NOT NULL,
	source VARCHAR(50),
	entity VARCHAR(50),
	outcome VARCHAR(10) NOT NULL,
	target_id VARCHAR(100),
	target_ref VARCHAR(100),
	attempts INTEGER DEFAULT 0 NOT NULL,
	first_attempt_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_attempt_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_error TEXT,
	run_id VARCHAR(250) NOT NULL,
	CONSTRAINT pk_sync_ledger PRIMARY KEY (target, record_key),
	CONSTRAINT ck_sync_ledger_outcome CHECK (outcome IN ('created', 'updated', 'skipped', 'failed', 'pending', 'rejected', 'interfaced', 'held'))
);

CREATE INDEX ix_sync_ledger_source_entity ON sync_ledger (source, entity);

CREATE INDEX ix_sync_ledger_target_outcome ON sync_ledger (target, outcome);

COMMENT ON TABLE sync_ledger IS 'Idempotency ledger: one row per record and target (the primary key is unique (target, record_key)).';

CREATE TABLE dead_letters (
	id BIGINT GENERATED BY DEFAULT AS IDENTITY,
	source VARCHAR(50) NOT NULL,
	entity VARCHAR(50) NOT NULL,
	record_key VARCHAR(200) NOT NULL,
	stage VARCHAR(30) NOT NULL,
	reason_class VARCHAR(20) NOT NULL,
	message TEXT NOT NULL,
	how_to_fix TEXT,
	payload TEXT,
	first_seen TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_seen TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	occurrences INTEGER DEFAULT 1 NOT NULL,
	replay_count INTEGER DEFAULT 0 NOT NULL,
	status VARCHAR(10) DEFAULT 'open' NOT NULL,
	status_note TEXT,
	run_id VARCHAR(250) NOT NULL,
	CONSTRAINT pk_dead_letters PRIMARY KEY (id),
	CONSTRAINT uq_dead_letters_source_entity_record_key_stage_reason_class UNIQUE (source, entity, record_key, stage, reason_class),
	CONSTRAINT ck_dead_letters_reason_class CHECK (reason_class IN ('retryable', 'invalid_data', 'mapping_missing', 'business_rule', 'duplicate', 'needs_review')),
	CONSTRAINT ck_dead_letters_status CHECK (status IN ('open', 'replayed', 'resolved', 'ignored'))
);

CREATE INDEX ix_dead_letters_source_entity_status ON dead_letters (source, entity, status);

CREATE INDEX ix_dead_letters_status_reason_class ON dead_letters (status, reason_class);

COMMENT ON COLUMN dead_letters.payload IS 'JSON, secrets removed';

CREATE TABLE run_metrics (
	id BIGINT GENERATED BY DEFAULT AS IDENTITY,
	run_id VARCHAR(250) NOT NULL,
	flow VARCHAR(50) NOT NULL,
	step VARCHAR(50) NOT NULL,
	started_at TIMESTAMP WITHOUT TIME ZONE,
	ended_at TIMESTAMP WITHOUT TIME ZONE,
	read INTEGER DEFAULT 0 NOT NULL,
	written INTEGER DEFAULT 0 NOT NULL,
	skipped INTEGER DEFAULT 0 NOT NULL,
	quarantined INTEGER DEFAULT 0 NOT NULL,
	requests INTEGER DEFAULT 0 NOT NULL,
	details TEXT,
	CONSTRAINT pk_run_metrics PRIMARY KEY (id),
	CONSTRAINT uq_run_metrics_run_id_flow_step UNIQUE (run_id, flow, step)
);

CREATE INDEX ix_run_metrics_flow_started_at ON run_metrics (flow, started_at);

COMMENT ON TABLE run_metrics IS 'One row per (run, flow, step); a retried step replaces its row.';

COMMENT ON COLUMN run_metrics.details IS 'JSON';

CREATE TABLE customer_matches (
	id_customer BIGINT NOT NULL,
	cust_account_id BIGINT,
	account_number VARCHAR(30),
	decision VARCHAR(12) NOT NULL,
	rule VARCHAR(40) NOT NULL,
	score FLOAT,
	details TEXT,
	decided_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	run_id VARCHAR(250),
	CONSTRAINT pk_customer_matches PRIMARY KEY (id_customer),
	CONSTRAINT ck_customer_matches_decision CHECK (decision IN ('matched', 'review', 'unmatched'))
);

CREATE INDEX ix_customer_matches_cust_account_id ON customer_matches (cust_account_id);

CREATE INDEX ix_customer_matches_decision ON customer_matches (decision);

COMMENT ON TABLE customer_matches IS 'Customer 360: one decision per shop customer, with the rule and score that made it.';

COMMENT ON COLUMN customer_matches.cust_account_id IS 'NULL when no account was matched';

COMMENT ON COLUMN customer_matches.rule IS 'which rule decided: shop_reference, email, vat, …';

COMMENT ON COLUMN customer_matches.score IS '1.0 for a deterministic key, else the match probability';

COMMENT ON COLUMN customer_matches.details IS 'JSON: the compared values and the candidates considered';

CREATE TABLE customer_360 (
	customer_key VARCHAR(40) NOT NULL,
	id_customer BIGINT,
	cust_account_id BIGINT,
	account_number VARCHAR(30),
	party_id BIGINT,
	email VARCHAR(320),
	name VARCHAR(360),
	country VARCHAR(3),
	is_guest BOOLEAN,
	match_rule VARCHAR(40),
	match_score FLOAT,
	currency VARCHAR(3),
	shop_orders INTEGER DEFAULT 0 NOT NULL,
	shop_revenue NUMERIC(20, 6) DEFAULT 0 NOT NULL,
	oracle_orders INTEGER DEFAULT 0 NOT NULL,
	oracle_revenue NUMERIC(20, 6) DEFAULT 0 NOT NULL,
	open_ar_balance NUMERIC(20, 6) DEFAULT 0 NOT NULL,
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	run_id VARCHAR(250),
	CONSTRAINT pk_customer_360 PRIMARY KEY (customer_key)
);

CREATE INDEX ix_customer_360_cust_account_id ON customer_360 (cust_account_id);

CREATE INDEX ix_customer_360_email ON customer_360 (email);

CREATE INDEX ix_customer_360_id_customer ON customer_360 (id_customer);

COMMENT ON TABLE customer_360 IS 'One row per customer across both systems, rebuilt by the customer_360 flow.';

COMMENT ON COLUMN customer_360.customer_key IS 'ps:<id_customer>, or ora:<cust_account_id> for an account no shop customer matched';

COMMENT ON COLUMN customer_360.currency IS 'the currency of the amounts below (the shop''s default)';

CREATE TABLE finance_recon_items (
	interval_start TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	item_key VARCHAR(200) NOT NULL,
	interval_end TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	kind VARCHAR(20) NOT NULL,
	status VARCHAR(20) NOT NULL,
	order_reference VARCHAR(32),
	id_order BIGINT,
	oracle_order_number VARCHAR(50),
	oracle_ref VARCHAR(50),
	currency VARCHAR(15),
	shop_amount NUMERIC(20, 6),
	oracle_amount NUMERIC(20, 6),
	difference NUMERIC(20, 6),
	shop_date TIMESTAMP WITHOUT TIME ZONE,
	oracle_date TIMESTAMP WITHOUT TIME ZONE,
	explanation TEXT,
	run_id VARCHAR(250),
	CONSTRAINT pk_finance_recon_items PRIMARY KEY (interval_start, item_key),
	CONSTRAINT ck_finance_recon_items_kind CHECK (kind IN ('payment', 'refund')),
	CONSTRAINT ck_finance_recon_items_status CHECK (status IN ('matched', 'amount_mismatch', 'missing_in_oracle', 'missing_in_shop', 'timing_difference'))
);

CREATE INDEX ix_finance_recon_items_order_reference ON finance_recon_items (order_reference);

CREATE INDEX ix_finance_recon_items_status ON finance_recon_items (status);

COMMENT ON TABLE finance_recon_items IS 'Financial reconciliation: one row per item and day; a re-run of a day replaces that day''s rows.';

COMMENT ON COLUMN finance_recon_items.item_key IS 'e.g. payment:<id_order_payment>, refund:<id>';

COMMENT ON COLUMN finance_recon_items.kind IS 'payment or refund';

COMMENT ON COLUMN finance_recon_items.oracle_ref IS 'receipt, invoice or credit memo number';

COMMENT ON COLUMN finance_recon_items.difference IS 'oracle_amount - shop_amount';

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

INSERT INTO alembic_version (version_num) VALUES ('0007');
