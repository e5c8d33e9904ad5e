-- Rebuild old_users from users: every user that came from old_users
-- (external_id = its id as text), is_admin from the admin role in the
-- default tenant. An erased user (GDPR) has no email left and gets an
-- invalid placeholder address.
CREATE TABLE "old_users" (
  "id" uuid NOT NULL,
  "email" character varying NOT NULL,
  "name" character varying NOT NULL DEFAULT '',
  "is_admin" boolean NOT NULL DEFAULT false,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "old_users_email_key" ON "old_users" ("email");
INSERT INTO "old_users" ("id", "email", "name", "is_admin", "created_at")
SELECT u."id", COALESCE(u."email", 'erased-' || u."id"::text || '@invalid'), u."display_name",
  EXISTS (SELECT 1 FROM "member_roles" AS r WHERE r."user_id" = u."id" AND r."tenant_id" = '00000000-0000-7000-8000-00000000d001' AND r."role_id" = '00000000-0000-7000-8000-000000000001'),
  u."created_at"
FROM "users" AS u WHERE u."external_id" = u."id"::text;
