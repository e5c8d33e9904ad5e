-- Down script of 20261203212558_credential_reenrolled.sql.
-- Modify "credentials" table
ALTER TABLE "credentials" DROP COLUMN "reenrolled_at", DROP COLUMN "reenrolled_by";
