-- Create "service_accounts" table
CREATE TABLE `service_accounts` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `role_ids` json NOT NULL, `administration` bool NOT NULL DEFAULT (false), `disabled_at` datetime NULL, `tenant_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `service_accounts_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- Create index "serviceaccount_tenant_id" to table: "service_accounts"
CREATE INDEX `serviceaccount_tenant_id` ON `service_accounts` (`tenant_id`);
-- Create index "serviceaccount_tenant_id_name" to table: "service_accounts"
CREATE UNIQUE INDEX `serviceaccount_tenant_id_name` ON `service_accounts` (`tenant_id`, `name`);
-- Create "service_account_assertions" table
CREATE TABLE `service_account_assertions` (`id` text NOT NULL, `expires_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "serviceaccountassertion_expires_at" to table: "service_account_assertions"
CREATE INDEX `serviceaccountassertion_expires_at` ON `service_account_assertions` (`expires_at`);
-- Create "service_account_keys" table
CREATE TABLE `service_account_keys` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `kid` text NOT NULL, `alg` text NOT NULL, `public_key` text NOT NULL, `expires_at` datetime NULL, `revoked_at` datetime NULL, `last_used_at` datetime NULL, `tenant_id` uuid NOT NULL, `service_account_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `service_account_keys_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION, CONSTRAINT `service_account_keys_service_accounts_service_account` FOREIGN KEY (`service_account_id`) REFERENCES `service_accounts` (`id`) ON DELETE NO ACTION);
-- Create index "serviceaccountkey_tenant_id" to table: "service_account_keys"
CREATE INDEX `serviceaccountkey_tenant_id` ON `service_account_keys` (`tenant_id`);
-- Create index "serviceaccountkey_service_account_id_kid" to table: "service_account_keys"
CREATE UNIQUE INDEX `serviceaccountkey_service_account_id_kid` ON `service_account_keys` (`service_account_id`, `kid`);
