-- Step 6: every legacy user becomes an active member of the default tenant;
-- legacy admins get the admin role, everyone else member. Ids derive from the
-- user id, so a re-run is a no-op.
INSERT INTO "memberships" ("id", "created_at", "updated_at", "created_by", "updated_by", "status", "tenant_id", "user_id")
SELECT md5('atrium:legacy:membership:' || u."id"::text)::uuid, now(), now(), u."id", u."id", 'active', '00000000-0000-7000-8000-00000000d001', u."id" FROM "old_users" AS u
ON CONFLICT DO NOTHING;
INSERT INTO "member_roles" ("id", "created_at", "updated_at", "created_by", "updated_by", "tenant_id", "user_id", "role_id")
SELECT md5('atrium:legacy:member_role:' || u."id"::text)::uuid, now(), now(), u."id", u."id", '00000000-0000-7000-8000-00000000d001', u."id",
  CASE WHEN u."is_admin" THEN '00000000-0000-7000-8000-000000000001'::uuid ELSE '00000000-0000-7000-8000-000000000002'::uuid END
FROM "old_users" AS u
ON CONFLICT DO NOTHING;
