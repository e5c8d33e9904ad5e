-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_audit_events" table
-- Reviewed (lint MF103, allowed in internal/migrate.LintAllowed): the INSERT
-- below fills the new NOT NULL chain, seq and hash of every copied row.
-- atlas:nolint MF103
CREATE TABLE `new_audit_events` (`id` uuid NOT NULL, `occurred_at` datetime NOT NULL, `tenant_id` uuid NULL, `action` text NOT NULL, `outcome` text NOT NULL DEFAULT ('success'), `actor` uuid NULL, `session_id` uuid NULL, `resource_type` text NOT NULL DEFAULT (''), `resource_id` uuid NULL, `request_id` text NOT NULL DEFAULT (''), `details` json NULL, `chain` text NOT NULL, `seq` integer NOT NULL, `prev_hash` blob NULL, `hash` blob NOT NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "audit_events" to new temporary table "new_audit_events".
-- Hand-edited: events written before the hash chain existed get their chain
-- and sequence number here and an empty hash; `atrium audit verify` reports
-- them as unchained history before the chain's anchor.
INSERT INTO `new_audit_events` (`id`, `occurred_at`, `tenant_id`, `action`, `outcome`, `actor`, `session_id`, `resource_type`, `resource_id`, `request_id`, `details`, `chain`, `seq`, `hash`) SELECT `id`, `occurred_at`, `tenant_id`, `action`, `outcome`, `actor`, `session_id`, `resource_type`, `resource_id`, `request_id`, `details`, COALESCE(`tenant_id`, 'global'), row_number() OVER (PARTITION BY COALESCE(`tenant_id`, 'global') ORDER BY `occurred_at`, `id`), X'' FROM `audit_events`;
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
