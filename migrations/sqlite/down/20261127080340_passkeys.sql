-- Down script of 20261127080340_passkeys.sql, planned by `atrium migrate down-plan 20261127080340`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "credentials" table
DROP TABLE `credentials`;
-- Drop "invitations" table
DROP TABLE `invitations`;
-- Drop "refresh_tokens" table
DROP TABLE `refresh_tokens`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
