-- Step 1 of the adoption of the legacy schema: the authentication,
-- authorization, audit and workspace tables the legacy schema lacks. No
-- legacy table is changed here.
-- Create "audit_events" table
CREATE TABLE "audit_events" ("id" uuid NOT NULL, "occurred_at" timestamptz NOT NULL, "tenant_id" uuid NULL, "action" character varying NOT NULL, "outcome" character varying NOT NULL DEFAULT 'success', "actor" uuid NULL, "session_id" uuid NULL, "resource_type" character varying NOT NULL DEFAULT '', "resource_id" uuid NULL, "request_id" character varying NOT NULL DEFAULT '', "details" jsonb NULL, "chain" character varying NOT NULL, "seq" bigint NOT NULL, "prev_hash" bytea NULL, "hash" bytea NOT NULL, PRIMARY KEY ("id"));
-- Create index "auditevent_actor" to table: "audit_events"
CREATE INDEX "auditevent_actor" ON "audit_events" ("actor");
-- Create index "auditevent_chain_seq" to table: "audit_events"
CREATE UNIQUE INDEX "auditevent_chain_seq" ON "audit_events" ("chain", "seq");
-- Create index "auditevent_tenant_id_occurred_at" to table: "audit_events"
CREATE INDEX "auditevent_tenant_id_occurred_at" ON "audit_events" ("tenant_id", "occurred_at");
-- Create "signing_keys" table
CREATE TABLE "signing_keys" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "kid" character varying NOT NULL, "algorithm" character varying NOT NULL, "public_key" bytea NOT NULL, "private_key_enc" bytea NOT NULL, "status" character varying NOT NULL, "activated_at" timestamptz NULL, "retired_at" timestamptz NULL, "verify_until" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "signing_keys_kid_key" to table: "signing_keys"
CREATE UNIQUE INDEX "signing_keys_kid_key" ON "signing_keys" ("kid");
-- Create "tenants" table
CREATE TABLE "tenants" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "slug" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'active', "erasure_policy" character varying NOT NULL DEFAULT 'transfer', PRIMARY KEY ("id"));
-- Create index "tenants_slug_key" to table: "tenants"
CREATE UNIQUE INDEX "tenants_slug_key" ON "tenants" ("slug");
-- Create "actor_refs" table
CREATE TABLE "actor_refs" ("id" uuid NOT NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"));
-- Create index "actor_refs_user_id_key" to table: "actor_refs"
CREATE UNIQUE INDEX "actor_refs_user_id_key" ON "actor_refs" ("user_id");
-- Create "audit_anchors" table
CREATE TABLE "audit_anchors" ("id" character varying NOT NULL, "seq" bigint NOT NULL, "hash" bytea NOT NULL, "pruned_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create "users" table
CREATE TABLE "users" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "display_name" character varying NOT NULL DEFAULT '', "email" character varying NULL, "external_id" character varying NULL, "status" character varying NOT NULL DEFAULT 'active', "last_tenant_id" uuid NULL, PRIMARY KEY ("id"));
-- Create index "users_email_key" to table: "users"
CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");
-- Create index "users_external_id_key" to table: "users"
CREATE UNIQUE INDEX "users_external_id_key" ON "users" ("external_id");
-- Create "credentials" table
CREATE TABLE "credentials" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "credential_id" bytea NOT NULL, "public_key" bytea NOT NULL, "attestation_type" character varying NOT NULL DEFAULT '', "attestation_format" character varying NOT NULL DEFAULT '', "aaguid" bytea NULL, "sign_count" bigint NOT NULL DEFAULT 0, "clone_warning" boolean NOT NULL DEFAULT false, "user_present" boolean NOT NULL DEFAULT false, "user_verified" boolean NOT NULL DEFAULT false, "backup_eligible" boolean NOT NULL DEFAULT false, "backup_state" boolean NOT NULL DEFAULT false, "transports" jsonb NULL, "attachment" character varying NOT NULL DEFAULT '', "name" character varying NOT NULL DEFAULT '', "last_used_at" timestamptz NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "credentials_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "credential_user_id" to table: "credentials"
CREATE INDEX "credential_user_id" ON "credentials" ("user_id");
-- Create index "credentials_credential_id_key" to table: "credentials"
CREATE UNIQUE INDEX "credentials_credential_id_key" ON "credentials" ("credential_id");
-- Create "invitations" table
CREATE TABLE "invitations" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "token_hash" bytea NOT NULL, "purpose" character varying NOT NULL, "user_id" uuid NULL, "role_id" uuid NULL, "email" character varying NULL, "expires_at" timestamptz NOT NULL, "used_at" timestamptz NULL, "used_by" uuid NULL, "revoked_at" timestamptz NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "invitations_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "invitation_tenant_id" to table: "invitations"
CREATE INDEX "invitation_tenant_id" ON "invitations" ("tenant_id");
-- Create index "invitation_tenant_id_token_hash" to table: "invitations"
CREATE UNIQUE INDEX "invitation_tenant_id_token_hash" ON "invitations" ("tenant_id", "token_hash");
-- Create index "invitation_token_hash" to table: "invitations"
CREATE INDEX "invitation_token_hash" ON "invitations" ("token_hash");
-- Create "kg_edges" table
CREATE TABLE "kg_edges" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "source_id" uuid NOT NULL, "target_id" uuid NOT NULL, "type" character varying NOT NULL, "properties" jsonb NULL, "tenant_id" uuid NOT NULL, "graph_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "kg_edges_knowledge_graphs_graph" FOREIGN KEY ("graph_id") REFERENCES "knowledge_graphs" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "kg_edges_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "kgedge_graph_id_source_id" to table: "kg_edges"
CREATE INDEX "kgedge_graph_id_source_id" ON "kg_edges" ("graph_id", "source_id");
-- Create index "kgedge_graph_id_target_id" to table: "kg_edges"
CREATE INDEX "kgedge_graph_id_target_id" ON "kg_edges" ("graph_id", "target_id");
-- Create index "kgedge_tenant_id" to table: "kg_edges"
CREATE INDEX "kgedge_tenant_id" ON "kg_edges" ("tenant_id");
-- Create "kg_nodes" table
CREATE TABLE "kg_nodes" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "type" character varying NOT NULL, "label" character varying NOT NULL, "properties" jsonb NULL, "document_id" uuid NULL, "tenant_id" uuid NOT NULL, "graph_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "kg_nodes_knowledge_graphs_graph" FOREIGN KEY ("graph_id") REFERENCES "knowledge_graphs" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "kg_nodes_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "kgnode_graph_id_id" to table: "kg_nodes"
CREATE INDEX "kgnode_graph_id_id" ON "kg_nodes" ("graph_id", "id");
-- Create index "kgnode_tenant_id" to table: "kg_nodes"
CREATE INDEX "kgnode_tenant_id" ON "kg_nodes" ("tenant_id");
-- Create "llm_usages" table
CREATE TABLE "llm_usages" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "model" character varying NOT NULL, "provider" character varying NOT NULL DEFAULT '', "kind" character varying NOT NULL, "conversation_id" uuid NULL, "prompt_tokens" bigint NOT NULL, "completion_tokens" bigint NOT NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "llm_usages_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "llmusage_created_by" to table: "llm_usages"
CREATE INDEX "llmusage_created_by" ON "llm_usages" ("created_by");
-- Create index "llmusage_tenant_id" to table: "llm_usages"
CREATE INDEX "llmusage_tenant_id" ON "llm_usages" ("tenant_id");
-- Create index "llmusage_tenant_id_created_at" to table: "llm_usages"
CREATE INDEX "llmusage_tenant_id_created_at" ON "llm_usages" ("tenant_id", "created_at");
-- Create "roles" table
CREATE TABLE "roles" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "tenant_id" uuid NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "system" boolean NOT NULL DEFAULT false, "permissions" jsonb NOT NULL, "created_by" uuid NULL, "updated_by" uuid NULL, PRIMARY KEY ("id"));
-- Create index "role_tenant_id_name" to table: "roles"
CREATE UNIQUE INDEX "role_tenant_id_name" ON "roles" ("tenant_id", "name");
-- Create "member_roles" table
CREATE TABLE "member_roles" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "tenant_id" uuid NOT NULL, "user_id" uuid NOT NULL, "role_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "member_roles_roles_role" FOREIGN KEY ("role_id") REFERENCES "roles" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "member_roles_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "member_roles_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "memberrole_role_id" to table: "member_roles"
CREATE INDEX "memberrole_role_id" ON "member_roles" ("role_id");
-- Create index "memberrole_tenant_id" to table: "member_roles"
CREATE INDEX "memberrole_tenant_id" ON "member_roles" ("tenant_id");
-- Create index "memberrole_tenant_id_user_id_role_id" to table: "member_roles"
CREATE UNIQUE INDEX "memberrole_tenant_id_user_id_role_id" ON "member_roles" ("tenant_id", "user_id", "role_id");
-- Create "memberships" table
CREATE TABLE "memberships" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "status" character varying NOT NULL DEFAULT 'active', "tenant_id" uuid NOT NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "memberships_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "memberships_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "membership_tenant_id" to table: "memberships"
CREATE INDEX "membership_tenant_id" ON "memberships" ("tenant_id");
-- Create index "membership_tenant_id_user_id" to table: "memberships"
CREATE UNIQUE INDEX "membership_tenant_id_user_id" ON "memberships" ("tenant_id", "user_id");
-- Create index "membership_user_id" to table: "memberships"
CREATE INDEX "membership_user_id" ON "memberships" ("user_id");
-- Create "sessions" table
CREATE TABLE "sessions" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "tenant_id" uuid NOT NULL, "credential_id" uuid NULL, "amr" jsonb NULL, "last_seen_at" timestamptz NOT NULL, "idle_expires_at" timestamptz NOT NULL, "expires_at" timestamptz NOT NULL, "revoked_at" timestamptz NULL, "revoked_reason" character varying NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "sessions_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "session_tenant_id" to table: "sessions"
CREATE INDEX "session_tenant_id" ON "sessions" ("tenant_id");
-- Create index "session_user_id" to table: "sessions"
CREATE INDEX "session_user_id" ON "sessions" ("user_id");
-- Create "refresh_tokens" table
CREATE TABLE "refresh_tokens" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "token_hash" bytea NOT NULL, "expires_at" timestamptz NOT NULL, "rotated_at" timestamptz NULL, "session_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "refresh_tokens_sessions_session" FOREIGN KEY ("session_id") REFERENCES "sessions" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens" ("token_hash");
-- Create index "refreshtoken_session_id" to table: "refresh_tokens"
CREATE INDEX "refreshtoken_session_id" ON "refresh_tokens" ("session_id");
-- Create "shares" table
CREATE TABLE "shares" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "resource_type" character varying NOT NULL, "resource_id" uuid NOT NULL, "subject_type" character varying NOT NULL, "subject_id" uuid NOT NULL, "level" character varying NOT NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "shares_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "share_resource_subject" to table: "shares"
CREATE UNIQUE INDEX "share_resource_subject" ON "shares" ("tenant_id", "resource_type", "resource_id", "subject_type", "subject_id");
-- Create index "share_subject" to table: "shares"
CREATE INDEX "share_subject" ON "shares" ("tenant_id", "subject_type", "subject_id");
-- Create index "share_tenant_id" to table: "shares"
CREATE INDEX "share_tenant_id" ON "shares" ("tenant_id");
-- Create "team_members" table
CREATE TABLE "team_members" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "tenant_id" uuid NOT NULL, "team_id" uuid NOT NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "team_members_teams_team" FOREIGN KEY ("team_id") REFERENCES "teams" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "team_members_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "team_members_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "teammember_tenant_id" to table: "team_members"
CREATE INDEX "teammember_tenant_id" ON "team_members" ("tenant_id");
-- Create index "teammember_tenant_id_team_id_user_id" to table: "team_members"
CREATE UNIQUE INDEX "teammember_tenant_id_team_id_user_id" ON "team_members" ("tenant_id", "team_id", "user_id");
-- Create index "teammember_tenant_id_user_id" to table: "team_members"
CREATE INDEX "teammember_tenant_id_user_id" ON "team_members" ("tenant_id", "user_id");
