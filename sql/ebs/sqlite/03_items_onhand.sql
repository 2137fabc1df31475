-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 03_items_onhand of the EBS stand-in (sqlite).

CREATE TABLE mtl_parameters (
	organization_id BIGINT NOT NULL,
	organization_code VARCHAR(3),
	master_organization_id BIGINT NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX mtl_parameters_u1 ON mtl_parameters (organization_id);

CREATE TABLE mtl_system_items_b (
	inventory_item_id BIGINT NOT NULL,
	organization_id BIGINT NOT NULL,
	segment1 VARCHAR(40),
	description VARCHAR(240),
	primary_uom_code VARCHAR(3),
	inventory_item_status_code VARCHAR(10) NOT NULL,
	enabled_flag VARCHAR(1) NOT NULL,
	customer_order_flag VARCHAR(1) NOT NULL,
	customer_order_enabled_flag VARCHAR(1) NOT NULL,
	shippable_item_flag VARCHAR(1) NOT NULL,
	list_price_per_unit NUMERIC,
	unit_weight NUMERIC,
	weight_uom_code VARCHAR(3),
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX mtl_system_items_b_n1 ON mtl_system_items_b (organization_id, segment1);

CREATE UNIQUE INDEX mtl_system_items_b_u1 ON mtl_system_items_b (inventory_item_id, organization_id);

CREATE TABLE mtl_onhand_quantities_detail (
	onhand_quantities_id BIGINT NOT NULL,
	inventory_item_id BIGINT NOT NULL,
	organization_id BIGINT NOT NULL,
	subinventory_code VARCHAR(10) NOT NULL,
	locator_id BIGINT,
	lot_number VARCHAR(80),
	revision VARCHAR(3),
	primary_transaction_quantity NUMERIC NOT NULL,
	transaction_quantity NUMERIC NOT NULL,
	transaction_uom_code VARCHAR(3),
	is_consigned BIGINT NOT NULL,
	owning_organization_id BIGINT,
	date_received DATETIME,
	create_transaction_id BIGINT,
	update_transaction_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX mtl_onhand_quantities_n1 ON mtl_onhand_quantities_detail (inventory_item_id, organization_id);

CREATE UNIQUE INDEX mtl_onhand_quantities_u1 ON mtl_onhand_quantities_detail (onhand_quantities_id);
