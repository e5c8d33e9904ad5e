-- Down script of 20261127090010_agents.sql, planned by `atrium migrate down-plan 20261127090010`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_conversations" table
CREATE TABLE `new_conversations` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `title` text NOT NULL DEFAULT '', `status` text NOT NULL DEFAULT 'active', `metadata` json NULL, `tenant_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `conversations_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Copy rows from old table "conversations" to new temporary table "new_conversations"
INSERT INTO `new_conversations` (`id`, `created_at`, `updated_at`, `created_by`, `updated_by`, `title`, `status`, `metadata`, `tenant_id`) SELECT `id`, `created_at`, `updated_at`, `created_by`, `updated_by`, `title`, `status`, `metadata`, `tenant_id` FROM `conversations`;
-- Drop "conversations" table after copying rows
DROP TABLE `conversations`;
-- Rename temporary table "new_conversations" to "conversations"
ALTER TABLE `new_conversations` RENAME TO `conversations`;
-- Create index "conversation_tenant_id" to table: "conversations"
CREATE INDEX `conversation_tenant_id` ON `conversations` (`tenant_id`);
-- Create index "conversation_tenant_id_id" to table: "conversations"
CREATE INDEX `conversation_tenant_id_id` ON `conversations` (`tenant_id`, `id`);
-- Create index "conversation_created_by" to table: "conversations"
CREATE INDEX `conversation_created_by` ON `conversations` (`created_by`);
-- Drop "agents" table
DROP TABLE `agents`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
