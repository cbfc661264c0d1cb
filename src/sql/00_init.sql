-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION clm" to load this file. \quit

-- ordinary users use clm without superuser rights: the schema is theirs to
-- use (what each object allows is granted object by object below)
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
