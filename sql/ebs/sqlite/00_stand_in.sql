-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 00_stand_in of the EBS stand-in (sqlite).

CREATE TABLE xx_ebs_sequences (
	sequence_name VARCHAR(30) NOT NULL,
	last_number BIGINT NOT NULL
);

CREATE UNIQUE INDEX xx_ebs_sequences_u1 ON xx_ebs_sequences (sequence_name);
