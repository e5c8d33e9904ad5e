-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_tenants" table
CREATE TABLE `new_tenants` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `slug` text NOT NULL, `status` text NOT NULL DEFAULT ('active'), `erasure_policy` text NOT NULL DEFAULT ('transfer'), PRIMARY KEY (`id`));
-- Copy rows from old table "tenants" to new temporary table "new_tenants"
INSERT INTO `new_tenants` (`id`, `created_at`, `updated_at`, `name`, `slug`, `status`) SELECT `id`, `created_at`, `updated_at`, `name`, `slug`, `status` FROM `tenants`;
-- Drop "tenants" table after copying rows
DROP TABLE `tenants`;
-- Rename temporary table "new_tenants" to "tenants"
ALTER TABLE `new_tenants` RENAME TO `tenants`;
-- Create index "tenants_slug_key" to table: "tenants"
CREATE UNIQUE INDEX `tenants_slug_key` ON `tenants` (`slug`);
-- Create "actor_refs" table
CREATE TABLE `actor_refs` (`id` uuid NOT NULL, `user_id` uuid NOT NULL, PRIMARY KEY (`id`));
-- Create index "actor_refs_user_id_key" to table: "actor_refs"
CREATE UNIQUE INDEX `actor_refs_user_id_key` ON `actor_refs` (`user_id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
-- Hand-added: events written before pseudonyms existed name the user id itself;
-- link it so erasure can cut that link too.
INSERT INTO actor_refs (id, user_id) SELECT DISTINCT actor, actor FROM audit_events WHERE actor IS NOT NULL;
