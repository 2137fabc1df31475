-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 05_customers of the EBS stand-in (sqlite).

CREATE TABLE hz_parties (
	party_id BIGINT NOT NULL,
	party_number VARCHAR(30) NOT NULL,
	party_name VARCHAR(360) NOT NULL,
	party_type VARCHAR(30) NOT NULL,
	person_first_name VARCHAR(150),
	person_last_name VARCHAR(150),
	email_address VARCHAR(2000),
	orig_system_reference VARCHAR(240) NOT NULL,
	status VARCHAR(1) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX hz_parties_n1 ON hz_parties (party_name);

CREATE UNIQUE INDEX hz_parties_u1 ON hz_parties (party_id);

CREATE TABLE hz_locations (
	location_id BIGINT NOT NULL,
	address1 VARCHAR(240) NOT NULL,
	address2 VARCHAR(240),
	city VARCHAR(60),
	postal_code VARCHAR(60),
	state VARCHAR(60),
	country VARCHAR(60) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE UNIQUE INDEX hz_locations_u1 ON hz_locations (location_id);

CREATE TABLE hz_party_sites (
	party_site_id BIGINT NOT NULL,
	party_id BIGINT NOT NULL,
	location_id BIGINT NOT NULL,
	party_site_number VARCHAR(30) NOT NULL,
	status VARCHAR(1),
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX hz_party_sites_n1 ON hz_party_sites (party_id);

CREATE UNIQUE INDEX hz_party_sites_u1 ON hz_party_sites (party_site_id);

CREATE TABLE hz_cust_accounts (
	cust_account_id BIGINT NOT NULL,
	party_id BIGINT NOT NULL,
	account_number VARCHAR(30) NOT NULL,
	account_name VARCHAR(240),
	status VARCHAR(1) NOT NULL,
	customer_type VARCHAR(30),
	orig_system_reference VARCHAR(240) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX hz_cust_accounts_n1 ON hz_cust_accounts (party_id);

CREATE UNIQUE INDEX hz_cust_accounts_u1 ON hz_cust_accounts (cust_account_id);

CREATE UNIQUE INDEX hz_cust_accounts_u2 ON hz_cust_accounts (account_number);

CREATE TABLE hz_cust_acct_sites_all (
	cust_acct_site_id BIGINT NOT NULL,
	cust_account_id BIGINT NOT NULL,
	party_site_id BIGINT NOT NULL,
	org_id BIGINT,
	status VARCHAR(1) NOT NULL,
	orig_system_reference VARCHAR(240) NOT NULL,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX hz_cust_acct_sites_n1 ON hz_cust_acct_sites_all (cust_account_id);

CREATE UNIQUE INDEX hz_cust_acct_sites_u1 ON hz_cust_acct_sites_all (cust_acct_site_id);

CREATE TABLE hz_cust_site_uses_all (
	site_use_id BIGINT NOT NULL,
	cust_acct_site_id BIGINT NOT NULL,
	site_use_code VARCHAR(30) NOT NULL,
	location VARCHAR(40) NOT NULL,
	primary_flag VARCHAR(1) NOT NULL,
	status VARCHAR(1) NOT NULL,
	org_id BIGINT,
	created_by BIGINT NOT NULL,
	creation_date DATETIME NOT NULL,
	last_updated_by BIGINT NOT NULL,
	last_update_date DATETIME NOT NULL,
	last_update_login BIGINT
);

CREATE INDEX hz_cust_site_uses_n1 ON hz_cust_site_uses_all (cust_acct_site_id);

CREATE UNIQUE INDEX hz_cust_site_uses_u1 ON hz_cust_site_uses_all (site_use_id);
