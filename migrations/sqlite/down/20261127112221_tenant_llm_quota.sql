-- Down script of 20261127112221_tenant_llm_quota.sql, planned by `atrium migrate down-plan 20261127112221`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_tenants" table
CREATE TABLE `new_tenants` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `slug` text NOT NULL, `status` text NOT NULL DEFAULT 'active', `erasure_policy` text NOT NULL DEFAULT 'transfer', PRIMARY KEY (`id`));
-- Copy rows from old table "tenants" to new temporary table "new_tenants"
INSERT INTO `new_tenants` (`id`, `created_at`, `updated_at`, `name`, `slug`, `status`, `erasure_policy`) SELECT `id`, `created_at`, `updated_at`, `name`, `slug`, `status`, `erasure_policy` FROM `tenants`;
-- Drop "tenants" table after copying rows
DROP TABLE `tenants`;
-- Rename temporary table "new_tenants" to "tenants"
ALTER TABLE `new_tenants` RENAME TO `tenants`;
-- Create index "tenants_slug_key" to table: "tenants"
CREATE UNIQUE INDEX `tenants_slug_key` ON `tenants` (`slug`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
