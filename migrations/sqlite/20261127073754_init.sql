-- Create "audit_events" table
CREATE TABLE `audit_events` (`id` uuid NOT NULL, `occurred_at` datetime NOT NULL, `tenant_id` uuid NULL, `action` text NOT NULL, `outcome` text NOT NULL DEFAULT ('success'), `actor` uuid NULL, `session_id` uuid NULL, `resource_type` text NOT NULL DEFAULT (''), `resource_id` uuid NULL, `request_id` text NOT NULL DEFAULT (''), `details` json NULL, PRIMARY KEY (`id`));
-- Create index "auditevent_tenant_id_occurred_at" to table: "audit_events"
CREATE INDEX `auditevent_tenant_id_occurred_at` ON `audit_events` (`tenant_id`, `occurred_at`);
-- Create index "auditevent_actor" to table: "audit_events"
CREATE INDEX `auditevent_actor` ON `audit_events` (`actor`);
-- Create "conversations" table
CREATE TABLE `conversations` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `title` text NOT NULL DEFAULT (''), `status` text NOT NULL DEFAULT ('active'), `metadata` json NULL, `tenant_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `conversations_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- Create index "conversation_tenant_id" to table: "conversations"
CREATE INDEX `conversation_tenant_id` ON `conversations` (`tenant_id`);
-- Create index "conversation_tenant_id_id" to table: "conversations"
CREATE INDEX `conversation_tenant_id_id` ON `conversations` (`tenant_id`, `id`);
-- Create index "conversation_created_by" to table: "conversations"
CREATE INDEX `conversation_created_by` ON `conversations` (`created_by`);
-- Create "member_roles" table
CREATE TABLE `member_roles` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `tenant_id` uuid NOT NULL, `user_id` uuid NOT NULL, `role_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `member_roles_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION, CONSTRAINT `member_roles_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION, CONSTRAINT `member_roles_roles_role` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE NO ACTION);
-- Create index "memberrole_tenant_id" to table: "member_roles"
CREATE INDEX `memberrole_tenant_id` ON `member_roles` (`tenant_id`);
-- Create index "memberrole_tenant_id_user_id_role_id" to table: "member_roles"
CREATE UNIQUE INDEX `memberrole_tenant_id_user_id_role_id` ON `member_roles` (`tenant_id`, `user_id`, `role_id`);
-- Create index "memberrole_role_id" to table: "member_roles"
CREATE INDEX `memberrole_role_id` ON `member_roles` (`role_id`);
-- Create "memberships" table
CREATE TABLE `memberships` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `status` text NOT NULL DEFAULT ('active'), `tenant_id` uuid NOT NULL, `user_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `memberships_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION, CONSTRAINT `memberships_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "membership_tenant_id" to table: "memberships"
CREATE INDEX `membership_tenant_id` ON `memberships` (`tenant_id`);
-- Create index "membership_tenant_id_user_id" to table: "memberships"
CREATE UNIQUE INDEX `membership_tenant_id_user_id` ON `memberships` (`tenant_id`, `user_id`);
-- Create index "membership_user_id" to table: "memberships"
CREATE INDEX `membership_user_id` ON `memberships` (`user_id`);
-- Create "messages" table
CREATE TABLE `messages` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `role` text NOT NULL, `content` text NOT NULL, `tenant_id` uuid NOT NULL, `conversation_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `messages_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION, CONSTRAINT `messages_conversations_conversation` FOREIGN KEY (`conversation_id`) REFERENCES `conversations` (`id`) ON DELETE NO ACTION);
-- Create index "message_tenant_id" to table: "messages"
CREATE INDEX `message_tenant_id` ON `messages` (`tenant_id`);
-- Create index "message_conversation_id_id" to table: "messages"
CREATE INDEX `message_conversation_id_id` ON `messages` (`conversation_id`, `id`);
-- Create "roles" table
CREATE TABLE `roles` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `tenant_id` uuid NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `system` bool NOT NULL DEFAULT (false), `permissions` json NOT NULL, `created_by` uuid NULL, `updated_by` uuid NULL, PRIMARY KEY (`id`));
-- Create index "role_tenant_id_name" to table: "roles"
CREATE UNIQUE INDEX `role_tenant_id_name` ON `roles` (`tenant_id`, `name`);
-- Create "sessions" table
CREATE TABLE `sessions` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `tenant_id` uuid NOT NULL, `credential_id` uuid NULL, `amr` json NULL, `last_seen_at` datetime NOT NULL, `idle_expires_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `revoked_at` datetime NULL, `revoked_reason` text NULL, `user_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `sessions_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "session_user_id" to table: "sessions"
CREATE INDEX `session_user_id` ON `sessions` (`user_id`);
-- Create index "session_tenant_id" to table: "sessions"
CREATE INDEX `session_tenant_id` ON `sessions` (`tenant_id`);
-- Create "signing_keys" table
CREATE TABLE `signing_keys` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kid` text NOT NULL, `algorithm` text NOT NULL, `public_key` blob NOT NULL, `private_key_enc` blob NOT NULL, `status` text NOT NULL, `activated_at` datetime NULL, `retired_at` datetime NULL, `verify_until` datetime NULL, PRIMARY KEY (`id`));
-- Create index "signing_keys_kid_key" to table: "signing_keys"
CREATE UNIQUE INDEX `signing_keys_kid_key` ON `signing_keys` (`kid`);
-- Create "tenants" table
CREATE TABLE `tenants` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `slug` text NOT NULL, `status` text NOT NULL DEFAULT ('active'), PRIMARY KEY (`id`));
-- Create index "tenants_slug_key" to table: "tenants"
CREATE UNIQUE INDEX `tenants_slug_key` ON `tenants` (`slug`);
-- Create "users" table
CREATE TABLE `users` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `display_name` text NOT NULL DEFAULT (''), `email` text NULL, `external_id` text NULL, `status` text NOT NULL DEFAULT ('active'), `last_tenant_id` uuid NULL, PRIMARY KEY (`id`));
-- Create index "users_email_key" to table: "users"
CREATE UNIQUE INDEX `users_email_key` ON `users` (`email`);
-- Create index "users_external_id_key" to table: "users"
CREATE UNIQUE INDEX `users_external_id_key` ON `users` (`external_id`);
