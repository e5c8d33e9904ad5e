-- Row-level security: the second wall between tenants (docs/security.md).
-- The server runs its queries as the role atrium_app (internal/rls: SET LOCAL
-- ROLE in every transaction) with transaction-local settings taken from the
-- viewer: app.tenant_id (a member's tenant), app.user_id (the person),
-- app.self_id (a person reading their own rows: their data export) and
-- app.system = 'on' (viewer.System, the one bypass, counted by reason).
-- Without settings the policies match no row. The role that runs migrations
-- owns the tables and is not subject to these policies (no FORCE), so
-- migrations and their data backfills see every row.
--
-- The role is cluster-wide: created once if missing (CREATEROLE needed then;
-- otherwise an operator creates it first, see docs/security.md), and the role
-- running this file is made a member so it can SET ROLE to it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atrium_app') THEN
    CREATE ROLE atrium_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT pg_has_role(current_user, 'atrium_app', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT atrium_app TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'atrium: cannot grant atrium_app to %; grant it to the role the server connects as (docs/security.md)', current_user;
    END;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO atrium_app', current_schema());
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO atrium_app', current_schema());
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO atrium_app', current_schema());
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO atrium_app', current_schema());
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO atrium_app', current_schema());
END
$$;
-- The self policies of child rows look at their parent through these
-- functions (run as the caller, so under row-level security themselves): a
-- policy with a subquery would make the parent table depend on the child's
-- policy. Each is false at once when app.self_id is unset.
CREATE FUNCTION atrium_rls_self_conversation(conv uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting('app.self_id', true), '')::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM "conversations" WHERE "id" = conv AND "created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid)
$$;
CREATE FUNCTION atrium_rls_self_graph(graph uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting('app.self_id', true), '')::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM "knowledge_graphs" WHERE "id" = graph AND "created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid)
$$;
CREATE FUNCTION atrium_rls_self_role(role uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting('app.self_id', true), '')::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM "member_roles" WHERE "role_id" = role AND "user_id" = NULLIF(current_setting('app.self_id', true), '')::uuid)
$$;
-- agents
ALTER TABLE "agents" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "agents" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "agents" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "agents" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- audit_events
ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "audit_events" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "audit_events" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- conversations
ALTER TABLE "conversations" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "conversations" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "conversations" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "conversations" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- documents
ALTER TABLE "documents" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "documents" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "documents" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "documents" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- invitations
ALTER TABLE "invitations" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "invitations" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "invitations" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- kg_edges
ALTER TABLE "kg_edges" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "kg_edges" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "kg_edges" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid OR atrium_rls_self_graph("graph_id"));
CREATE POLICY "atrium_system" ON "kg_edges" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- kg_nodes
ALTER TABLE "kg_nodes" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "kg_nodes" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "kg_nodes" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid OR atrium_rls_self_graph("graph_id"));
CREATE POLICY "atrium_system" ON "kg_nodes" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- knowledge_graphs
ALTER TABLE "knowledge_graphs" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "knowledge_graphs" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "knowledge_graphs" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "knowledge_graphs" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- llm_usages
ALTER TABLE "llm_usages" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "llm_usages" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "llm_usages" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "llm_usages" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- member_roles
ALTER TABLE "member_roles" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "member_roles" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "member_roles" FOR SELECT USING ("user_id" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "member_roles" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- memberships
ALTER TABLE "memberships" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "memberships" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "memberships" FOR SELECT USING ("user_id" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "memberships" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- messages
ALTER TABLE "messages" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "messages" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "messages" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid OR atrium_rls_self_conversation("conversation_id"));
CREATE POLICY "atrium_system" ON "messages" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- roles
ALTER TABLE "roles" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "roles" USING ("tenant_id" IS NULL OR "tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "roles" FOR SELECT USING (atrium_rls_self_role("id"));
CREATE POLICY "atrium_system" ON "roles" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- sessions
ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_user" ON "sessions" USING ("user_id" = NULLIF(current_setting('app.user_id', true), '')::uuid) WITH CHECK ("user_id" = NULLIF(current_setting('app.user_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "sessions" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- shares
ALTER TABLE "shares" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "shares" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "shares" FOR SELECT USING ("created_by" = NULLIF(current_setting('app.self_id', true), '')::uuid OR ("subject_type" = 'user' AND "subject_id" = NULLIF(current_setting('app.self_id', true), '')::uuid));
CREATE POLICY "atrium_system" ON "shares" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- team_members
ALTER TABLE "team_members" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "team_members" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_self" ON "team_members" FOR SELECT USING ("user_id" = NULLIF(current_setting('app.self_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "team_members" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
-- teams
ALTER TABLE "teams" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "teams" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "teams" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
