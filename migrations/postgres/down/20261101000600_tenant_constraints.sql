-- Back to nullable tenant and authorship columns and the legacy columns,
-- defaults and constraints. The legacy shape can only hold the default
-- tenant's rows written by legacy users: any other row stops the rollback,
-- naming its table, before anything changes (docs/migration-runbook.md).
DO $$
DECLARE
  t text;
  bad boolean;
BEGIN
  FOREACH t IN ARRAY ARRAY['conversations', 'messages', 'documents', 'agents', 'teams', 'knowledge_graphs'] LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE tenant_id <> ''00000000-0000-7000-8000-00000000d001'')', t) INTO bad;
    IF bad THEN
      RAISE EXCEPTION 'atrium: % has rows of tenants other than the default one; the legacy schema cannot hold them', t;
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM "conversations" AS c WHERE NOT EXISTS (SELECT 1 FROM "old_users" AS u WHERE u."id" = c."created_by")) THEN
    RAISE EXCEPTION 'atrium: conversations has rows created by users who are not legacy users; the legacy schema cannot hold them';
  END IF;
END
$$;
DROP INDEX "knowledgegraph_tenant_id_id";
DROP INDEX "knowledgegraph_created_by";
ALTER TABLE "knowledge_graphs" DROP CONSTRAINT "knowledge_graphs_tenants_tenant", ALTER COLUMN "created_at" SET DEFAULT now(), ALTER COLUMN "updated_at" SET DEFAULT now(), ALTER COLUMN "tenant_id" DROP NOT NULL, ALTER COLUMN "created_by" DROP NOT NULL, ALTER COLUMN "updated_by" DROP NOT NULL;
DROP INDEX "team_tenant_id_name";
ALTER TABLE "teams" DROP CONSTRAINT "teams_tenants_tenant", ALTER COLUMN "created_at" SET DEFAULT now(), ALTER COLUMN "updated_at" SET DEFAULT now(), ALTER COLUMN "tenant_id" DROP NOT NULL, ALTER COLUMN "created_by" DROP NOT NULL, ALTER COLUMN "updated_by" DROP NOT NULL;
CREATE UNIQUE INDEX "teams_name_key" ON "teams" ("name");
DROP INDEX "agent_tenant_id_id";
DROP INDEX "agent_created_by";
ALTER TABLE "agents" DROP CONSTRAINT "agents_tenants_tenant", ALTER COLUMN "created_at" SET DEFAULT now(), ALTER COLUMN "updated_at" SET DEFAULT now(), ALTER COLUMN "tenant_id" DROP NOT NULL, ALTER COLUMN "created_by" DROP NOT NULL, ALTER COLUMN "updated_by" DROP NOT NULL;
DROP INDEX "document_tenant_id_id";
DROP INDEX "document_created_by";
ALTER TABLE "documents" DROP CONSTRAINT "documents_tenants_tenant", ALTER COLUMN "created_at" SET DEFAULT now(), ALTER COLUMN "updated_at" SET DEFAULT now(), ALTER COLUMN "tenant_id" DROP NOT NULL, ALTER COLUMN "created_by" DROP NOT NULL, ALTER COLUMN "updated_by" DROP NOT NULL;
DROP INDEX "message_conversation_id_id";
ALTER TABLE "messages" DROP CONSTRAINT "messages_tenants_tenant", DROP CONSTRAINT "messages_conversations_conversation", ALTER COLUMN "created_at" SET DEFAULT now(), ALTER COLUMN "updated_at" DROP NOT NULL, ALTER COLUMN "tenant_id" DROP NOT NULL, ALTER COLUMN "created_by" DROP NOT NULL, ALTER COLUMN "updated_by" DROP NOT NULL,
  ADD CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id");
DROP INDEX "conversation_tenant_id_id";
DROP INDEX "conversation_created_by";
ALTER TABLE "conversations" DROP CONSTRAINT "conversations_tenants_tenant", ALTER COLUMN "created_at" SET DEFAULT now(), ALTER COLUMN "updated_at" SET DEFAULT now(), ALTER COLUMN "tenant_id" DROP NOT NULL, ALTER COLUMN "created_by" DROP NOT NULL, ALTER COLUMN "updated_by" DROP NOT NULL,
  ADD COLUMN "user_id" uuid NULL;
UPDATE "conversations" SET "user_id" = "created_by";
ALTER TABLE "conversations" ALTER COLUMN "user_id" SET NOT NULL, ADD CONSTRAINT "conversations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "old_users" ("id");
CREATE INDEX "conversations_user_id_idx" ON "conversations" ("user_id");
