-- Down script of 20261127073754_init.sql, planned by `atrium migrate down-plan 20261127073754`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "audit_events" table
DROP TABLE `audit_events`;
-- Drop "conversations" table
DROP TABLE `conversations`;
-- Drop "member_roles" table
DROP TABLE `member_roles`;
-- Drop "memberships" table
DROP TABLE `memberships`;
-- Drop "messages" table
DROP TABLE `messages`;
-- Drop "roles" table
DROP TABLE `roles`;
-- Drop "sessions" table
DROP TABLE `sessions`;
-- Drop "signing_keys" table
DROP TABLE `signing_keys`;
-- Drop "tenants" table
DROP TABLE `tenants`;
-- Drop "users" table
DROP TABLE `users`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
