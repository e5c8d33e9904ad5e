-- Down script of 20261203212558_credential_reenrolled.sql.
-- Drop the columns that record a re-enrollment (neither is indexed).
ALTER TABLE `credentials` DROP COLUMN `reenrolled_at`;
ALTER TABLE `credentials` DROP COLUMN `reenrolled_by`;
