-- Down script of 20261204133717_audit_hash_version.sql, planned by `atrium migrate down-plan 20261204133717`.
-- Events appended in format 2 (hash_version = 2) keep their hashes, which the
-- previous release, knowing format 1 only, reports as "edited": run
-- `atrium audit verify` before rolling back if that matters, and keep its output.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_audit_events" table
CREATE TABLE `new_audit_events` (`id` uuid NOT NULL, `occurred_at` datetime NOT NULL, `tenant_id` uuid NULL, `action` text NOT NULL, `outcome` text NOT NULL DEFAULT 'success', `actor` uuid NULL, `session_id` uuid NULL, `resource_type` text NOT NULL DEFAULT '', `resource_id` uuid NULL, `request_id` text NOT NULL DEFAULT '', `details` json NULL, `chain` text NOT NULL, `seq` integer NOT NULL, `prev_hash` blob NULL, `hash` blob NOT NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "audit_events" to new temporary table "new_audit_events"
INSERT INTO `new_audit_events` (`id`, `occurred_at`, `tenant_id`, `action`, `outcome`, `actor`, `session_id`, `resource_type`, `resource_id`, `request_id`, `details`, `chain`, `seq`, `prev_hash`, `hash`) SELECT `id`, `occurred_at`, `tenant_id`, `action`, `outcome`, `actor`, `session_id`, `resource_type`, `resource_id`, `request_id`, `details`, `chain`, `seq`, `prev_hash`, `hash` FROM `audit_events`;
-- Drop "audit_events" table after copying rows
DROP TABLE `audit_events`;
-- Rename temporary table "new_audit_events" to "audit_events"
ALTER TABLE `new_audit_events` RENAME TO `audit_events`;
-- Create index "auditevent_chain_seq" to table: "audit_events"
CREATE UNIQUE INDEX `auditevent_chain_seq` ON `audit_events` (`chain`, `seq`);
-- Create index "auditevent_tenant_id_occurred_at" to table: "audit_events"
CREATE INDEX `auditevent_tenant_id_occurred_at` ON `audit_events` (`tenant_id`, `occurred_at`);
-- Create index "auditevent_actor" to table: "audit_events"
CREATE INDEX `auditevent_actor` ON `audit_events` (`actor`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
