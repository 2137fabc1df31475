-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit.
-- Area 00_stand_in of the EBS stand-in (oracle).

CREATE TABLE XX_EBS_SEQUENCES (
	SEQUENCE_NAME VARCHAR2(30) NOT NULL,
	LAST_NUMBER NUMBER NOT NULL
);

CREATE UNIQUE INDEX XX_EBS_SEQUENCES_U1 ON XX_EBS_SEQUENCES (SEQUENCE_NAME);
