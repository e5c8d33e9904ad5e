-- Step 2: the tenant and authorship columns the legacy tables lack,
-- nullable (the backfill fills created_by and updated_by, step 7 makes them
-- NOT NULL), with the tenant indexes (but for messages: see the backfill),
-- plus the other columns of today's schema. tenant_id is added with the default tenant's id as its default and
-- the default is dropped at once: PostgreSQL (11+) records the value for the
-- existing rows in the catalog instead of rewriting the table, so every legacy
-- row is in the default tenant (internal/legacy.DefaultTenantID) without a
-- write. Adding a nullable column, or one with a constant default, does not
-- rewrite the table either.
ALTER TABLE "conversations" ADD COLUMN "tenant_id" uuid NULL DEFAULT '00000000-0000-7000-8000-00000000d001', ADD COLUMN "created_by" uuid NULL, ADD COLUMN "updated_by" uuid NULL, ADD COLUMN "status" character varying NOT NULL DEFAULT 'active', ADD COLUMN "agent_id" uuid NULL;
ALTER TABLE "conversations" ALTER COLUMN "tenant_id" DROP DEFAULT;
CREATE INDEX "conversation_tenant_id" ON "conversations" ("tenant_id");
ALTER TABLE "messages" ADD COLUMN "tenant_id" uuid NULL DEFAULT '00000000-0000-7000-8000-00000000d001', ADD COLUMN "created_by" uuid NULL, ADD COLUMN "updated_by" uuid NULL, ADD COLUMN "updated_at" timestamptz NULL;
ALTER TABLE "messages" ALTER COLUMN "tenant_id" DROP DEFAULT;
ALTER TABLE "documents" ADD COLUMN "tenant_id" uuid NULL DEFAULT '00000000-0000-7000-8000-00000000d001', ADD COLUMN "created_by" uuid NULL, ADD COLUMN "updated_by" uuid NULL, ADD COLUMN "tags" jsonb NULL, ADD COLUMN "metadata" jsonb NULL;
ALTER TABLE "documents" ALTER COLUMN "tenant_id" DROP DEFAULT;
CREATE INDEX "document_tenant_id" ON "documents" ("tenant_id");
ALTER TABLE "agents" ADD COLUMN "tenant_id" uuid NULL DEFAULT '00000000-0000-7000-8000-00000000d001', ADD COLUMN "created_by" uuid NULL, ADD COLUMN "updated_by" uuid NULL, ADD COLUMN "document_ids" jsonb NULL, ADD COLUMN "knowledge_graph_ids" jsonb NULL;
ALTER TABLE "agents" ALTER COLUMN "tenant_id" DROP DEFAULT;
CREATE INDEX "agent_tenant_id" ON "agents" ("tenant_id");
ALTER TABLE "teams" ADD COLUMN "tenant_id" uuid NULL DEFAULT '00000000-0000-7000-8000-00000000d001', ADD COLUMN "created_by" uuid NULL, ADD COLUMN "updated_by" uuid NULL;
ALTER TABLE "teams" ALTER COLUMN "tenant_id" DROP DEFAULT;
CREATE INDEX "team_tenant_id" ON "teams" ("tenant_id");
ALTER TABLE "knowledge_graphs" ADD COLUMN "tenant_id" uuid NULL DEFAULT '00000000-0000-7000-8000-00000000d001', ADD COLUMN "created_by" uuid NULL, ADD COLUMN "updated_by" uuid NULL, ADD COLUMN "document_ids" jsonb NULL;
ALTER TABLE "knowledge_graphs" ALTER COLUMN "tenant_id" DROP DEFAULT;
CREATE INDEX "knowledgegraph_tenant_id" ON "knowledge_graphs" ("tenant_id");
