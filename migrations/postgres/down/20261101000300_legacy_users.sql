-- Remove the users made from old_users and the default tenant, with what
-- depends on them (their devices, sessions and the default tenant's rows in
-- Atrium-only tables; the tables themselves go with the auth tables' down).
DELETE FROM "refresh_tokens" WHERE "session_id" IN (SELECT "id" FROM "sessions" WHERE "user_id" IN (SELECT "id" FROM "old_users") OR "tenant_id" = '00000000-0000-7000-8000-00000000d001');
DELETE FROM "sessions" WHERE "user_id" IN (SELECT "id" FROM "old_users") OR "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "credentials" WHERE "user_id" IN (SELECT "id" FROM "old_users");
DELETE FROM "actor_refs" WHERE "user_id" IN (SELECT "id" FROM "old_users");
DELETE FROM "team_members" WHERE "user_id" IN (SELECT "id" FROM "old_users") OR "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "member_roles" WHERE "user_id" IN (SELECT "id" FROM "old_users") OR "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "memberships" WHERE "user_id" IN (SELECT "id" FROM "old_users") OR "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "invitations" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "shares" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "llm_usages" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "kg_edges" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "kg_nodes" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "roles" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001';
DELETE FROM "users" WHERE "external_id" = "id"::text AND "id" IN (SELECT "id" FROM "old_users");
DELETE FROM "tenants" WHERE "id" = '00000000-0000-7000-8000-00000000d001';
