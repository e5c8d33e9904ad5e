-- Remove the legacy users' memberships and roles in the default tenant.
DELETE FROM "member_roles" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001' AND "user_id" IN (SELECT "id" FROM "old_users");
DELETE FROM "memberships" WHERE "tenant_id" = '00000000-0000-7000-8000-00000000d001' AND "user_id" IN (SELECT "id" FROM "old_users");
