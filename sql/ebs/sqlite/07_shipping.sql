-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 07_shipping of the EBS stand-in (sqlite).

CREATE TABLE wsh_carriers (
	carrier_id BIGINT NOT NULL,
	freight_code VARCHAR(30) NOT NULL,
	scac_code VARCHAR(4),
	manifesting_enabled_flag VARCHAR(1),
	active VARCHAR(1),
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX wsh_carriers_u1 ON wsh_carriers (carrier_id);

CREATE TABLE wsh_carrier_services (
	carrier_service_id BIGINT NOT NULL,
	carrier_id BIGINT NOT NULL,
	ship_method_code VARCHAR(30) NOT NULL,
	mode_of_transport VARCHAR(30),
	service_level VARCHAR(30),
	enabled_flag VARCHAR(1) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX wsh_carrier_services_u1 ON wsh_carrier_services (carrier_service_id);

CREATE TABLE wsh_new_deliveries (
	delivery_id BIGINT NOT NULL,
	name VARCHAR(30) NOT NULL,
	organization_id BIGINT,
	status_code VARCHAR(2) NOT NULL,
	ship_method_code VARCHAR(30),
	carrier_id BIGINT,
	waybill VARCHAR(30),
	confirm_date DATETIME,
	initial_pickup_date DATETIME,
	customer_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX wsh_new_deliveries_n1 ON wsh_new_deliveries (last_update_date);

CREATE UNIQUE INDEX wsh_new_deliveries_u1 ON wsh_new_deliveries (delivery_id);

CREATE TABLE wsh_delivery_assignments (
	delivery_assignment_id BIGINT NOT NULL,
	delivery_id BIGINT,
	delivery_detail_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX wsh_delivery_assignments_n1 ON wsh_delivery_assignments (delivery_detail_id);

CREATE INDEX wsh_delivery_assignments_n2 ON wsh_delivery_assignments (delivery_id);

CREATE UNIQUE INDEX wsh_delivery_assignments_u1 ON wsh_delivery_assignments (delivery_assignment_id);

CREATE TABLE wsh_delivery_details (
	delivery_detail_id BIGINT NOT NULL,
	source_code VARCHAR(30) NOT NULL,
	source_header_id BIGINT,
	source_line_id BIGINT NOT NULL,
	source_header_number VARCHAR(150),
	customer_id BIGINT,
	inventory_item_id BIGINT,
	organization_id BIGINT,
	requested_quantity NUMERIC NOT NULL,
	requested_quantity_uom VARCHAR(3) NOT NULL,
	shipped_quantity NUMERIC,
	released_status VARCHAR(1),
	ship_method_code VARCHAR(30),
	carrier_id BIGINT,
	tracking_number VARCHAR(30),
	date_scheduled DATETIME,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX wsh_delivery_details_n1 ON wsh_delivery_details (source_header_id);

CREATE INDEX wsh_delivery_details_n2 ON wsh_delivery_details (source_line_id);

CREATE INDEX wsh_delivery_details_n3 ON wsh_delivery_details (last_update_date);

CREATE UNIQUE INDEX wsh_delivery_details_u1 ON wsh_delivery_details (delivery_detail_id);
