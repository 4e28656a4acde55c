-- The synapse role and database, written by matrix-wizard.
-- Run as a superuser with psql; running it again changes nothing but the password.
\set ON_ERROR_STOP on
DO $check$
BEGIN
  IF EXISTS (SELECT FROM pg_database
             WHERE datname = 'synapse' AND (pg_encoding_to_char(encoding) <> 'UTF8' OR datcollate <> 'C' OR datctype <> 'C')) THEN
    RAISE EXCEPTION 'database synapse exists but is not UTF8 with C collation and ctype, which synapse needs: dump it, drop it and run this script again';
  END IF;
END
$check$;
SELECT 'CREATE ROLE "synapse"'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'synapse')\gexec
ALTER ROLE "synapse" WITH LOGIN PASSWORD 'e0LAFzImxkOpDw6ZP4voOmoCCI4iUcH4NuWp0iIrUkzrRSZ4';
SELECT 'CREATE DATABASE "synapse" WITH OWNER "synapse" ENCODING ''UTF8'' LC_COLLATE ''C'' LC_CTYPE ''C'' TEMPLATE template0'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'synapse')\gexec
ALTER DATABASE "synapse" OWNER TO "synapse";
