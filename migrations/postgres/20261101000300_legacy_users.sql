-- Step 3: the default tenant and one user per legacy user. A legacy user
-- keeps its id, and the id as text is kept as external_id. Nothing is
-- created on a fresh install (old_users is empty there). The tenant id is a
-- constant: internal/legacy.DefaultTenantID.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "old_users") AND (EXISTS (SELECT 1 FROM "documents") OR EXISTS (SELECT 1 FROM "agents")
      OR EXISTS (SELECT 1 FROM "teams") OR EXISTS (SELECT 1 FROM "knowledge_graphs")) THEN
    RAISE EXCEPTION 'atrium: legacy rows exist but old_users is empty: they need an owner; add one legacy user (is_admin = true) and apply again (docs/migration-runbook.md)';
  END IF;
END
$$;
INSERT INTO "tenants" ("id", "created_at", "updated_at", "name", "slug", "status", "erasure_policy")
SELECT '00000000-0000-7000-8000-00000000d001', now(), now(), 'Default', 'default', 'active', 'transfer' WHERE EXISTS (SELECT 1 FROM "old_users");
INSERT INTO "users" ("id", "created_at", "updated_at", "display_name", "email", "external_id", "status", "last_tenant_id")
SELECT "id", "created_at", "created_at", "name", "email", "id"::text, 'active', '00000000-0000-7000-8000-00000000d001' FROM "old_users";
