-- Create "credentials" table
CREATE TABLE `credentials` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `credential_id` blob NOT NULL, `public_key` blob NOT NULL, `attestation_type` text NOT NULL DEFAULT (''), `attestation_format` text NOT NULL DEFAULT (''), `aaguid` blob NULL, `sign_count` integer NOT NULL DEFAULT (0), `clone_warning` bool NOT NULL DEFAULT (false), `user_present` bool NOT NULL DEFAULT (false), `user_verified` bool NOT NULL DEFAULT (false), `backup_eligible` bool NOT NULL DEFAULT (false), `backup_state` bool NOT NULL DEFAULT (false), `transports` json NULL, `attachment` text NOT NULL DEFAULT (''), `name` text NOT NULL DEFAULT (''), `last_used_at` datetime NULL, `user_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `credentials_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "credentials_credential_id_key" to table: "credentials"
CREATE UNIQUE INDEX `credentials_credential_id_key` ON `credentials` (`credential_id`);
-- Create index "credential_user_id" to table: "credentials"
CREATE INDEX `credential_user_id` ON `credentials` (`user_id`);
-- Create "invitations" table
CREATE TABLE `invitations` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `token_hash` blob NOT NULL, `purpose` text NOT NULL, `user_id` uuid NULL, `role_id` uuid NULL, `email` text NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, `used_by` uuid NULL, `revoked_at` datetime NULL, `tenant_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `invitations_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- Create index "invitation_tenant_id" to table: "invitations"
CREATE INDEX `invitation_tenant_id` ON `invitations` (`tenant_id`);
-- Create index "invitation_tenant_id_token_hash" to table: "invitations"
CREATE UNIQUE INDEX `invitation_tenant_id_token_hash` ON `invitations` (`tenant_id`, `token_hash`);
-- Create index "invitation_token_hash" to table: "invitations"
CREATE INDEX `invitation_token_hash` ON `invitations` (`token_hash`);
-- Create "refresh_tokens" table
CREATE TABLE `refresh_tokens` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `token_hash` blob NOT NULL, `expires_at` datetime NOT NULL, `rotated_at` datetime NULL, `session_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `refresh_tokens_sessions_session` FOREIGN KEY (`session_id`) REFERENCES `sessions` (`id`) ON DELETE NO ACTION);
-- Create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
CREATE UNIQUE INDEX `refresh_tokens_token_hash_key` ON `refresh_tokens` (`token_hash`);
-- Create index "refreshtoken_session_id" to table: "refresh_tokens"
CREATE INDEX `refreshtoken_session_id` ON `refresh_tokens` (`session_id`);
