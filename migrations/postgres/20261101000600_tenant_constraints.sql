-- Step 7: with every row backfilled, the tenant and authorship columns
-- become NOT NULL, the foreign keys and the final indexes are created, and the
-- legacy-only columns, defaults and constraints give way to today's schema.
-- A row the backfill missed stops the step here, naming its table.
DO $$
DECLARE
  t text;
  bad boolean;
BEGIN
  FOREACH t IN ARRAY ARRAY['conversations', 'messages', 'documents', 'agents', 'teams', 'knowledge_graphs'] LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE tenant_id IS NULL OR created_by IS NULL)', t) INTO bad;
    IF bad THEN
      RAISE EXCEPTION 'atrium: % has rows without tenant_id or created_by (rows written after the backfill: is the legacy application still running?). Stop it, run `atrium migrate down --to 20261101000300`, then apply again', t;
    END IF;
  END LOOP;
END
$$;
ALTER TABLE "conversations" DROP COLUMN "user_id", ALTER COLUMN "created_at" DROP DEFAULT, ALTER COLUMN "updated_at" DROP DEFAULT, ALTER COLUMN "tenant_id" SET NOT NULL, ALTER COLUMN "created_by" SET NOT NULL, ALTER COLUMN "updated_by" SET NOT NULL, ADD CONSTRAINT "conversations_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
CREATE INDEX "conversation_created_by" ON "conversations" ("created_by");
CREATE INDEX "conversation_tenant_id_id" ON "conversations" ("tenant_id", "id");
ALTER TABLE "messages" DROP CONSTRAINT "messages_conversation_id_fkey", ALTER COLUMN "created_at" DROP DEFAULT, ALTER COLUMN "updated_at" SET NOT NULL, ALTER COLUMN "tenant_id" SET NOT NULL, ALTER COLUMN "created_by" SET NOT NULL, ALTER COLUMN "updated_by" SET NOT NULL, ADD CONSTRAINT "messages_conversations_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "messages_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
CREATE INDEX "message_conversation_id_id" ON "messages" ("conversation_id", "id");
ALTER TABLE "documents" ALTER COLUMN "created_at" DROP DEFAULT, ALTER COLUMN "updated_at" DROP DEFAULT, ALTER COLUMN "tenant_id" SET NOT NULL, ALTER COLUMN "created_by" SET NOT NULL, ALTER COLUMN "updated_by" SET NOT NULL, ADD CONSTRAINT "documents_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
CREATE INDEX "document_created_by" ON "documents" ("created_by");
CREATE INDEX "document_tenant_id_id" ON "documents" ("tenant_id", "id");
ALTER TABLE "agents" ALTER COLUMN "created_at" DROP DEFAULT, ALTER COLUMN "updated_at" DROP DEFAULT, ALTER COLUMN "tenant_id" SET NOT NULL, ALTER COLUMN "created_by" SET NOT NULL, ALTER COLUMN "updated_by" SET NOT NULL, ADD CONSTRAINT "agents_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
CREATE INDEX "agent_created_by" ON "agents" ("created_by");
CREATE INDEX "agent_tenant_id_id" ON "agents" ("tenant_id", "id");
DROP INDEX "teams_name_key";
ALTER TABLE "teams" ALTER COLUMN "created_at" DROP DEFAULT, ALTER COLUMN "updated_at" DROP DEFAULT, ALTER COLUMN "tenant_id" SET NOT NULL, ALTER COLUMN "created_by" SET NOT NULL, ALTER COLUMN "updated_by" SET NOT NULL, ADD CONSTRAINT "teams_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
CREATE UNIQUE INDEX "team_tenant_id_name" ON "teams" ("tenant_id", "name");
ALTER TABLE "knowledge_graphs" ALTER COLUMN "created_at" DROP DEFAULT, ALTER COLUMN "updated_at" DROP DEFAULT, ALTER COLUMN "tenant_id" SET NOT NULL, ALTER COLUMN "created_by" SET NOT NULL, ALTER COLUMN "updated_by" SET NOT NULL, ADD CONSTRAINT "knowledge_graphs_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
CREATE INDEX "knowledgegraph_created_by" ON "knowledge_graphs" ("created_by");
CREATE INDEX "knowledgegraph_tenant_id_id" ON "knowledge_graphs" ("tenant_id", "id");
