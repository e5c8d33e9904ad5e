-- Modify "conversations" table
ALTER TABLE "conversations" ADD COLUMN "agent_id" uuid NULL;
-- Create "agents" table
CREATE TABLE "agents" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "instructions" text NOT NULL DEFAULT '', "model" character varying NOT NULL, "temperature" double precision NULL, "max_tokens" bigint NULL, "document_ids" jsonb NULL, "knowledge_graph_ids" jsonb NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "agents_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "agent_created_by" to table: "agents"
CREATE INDEX "agent_created_by" ON "agents" ("created_by");
-- Create index "agent_tenant_id" to table: "agents"
CREATE INDEX "agent_tenant_id" ON "agents" ("tenant_id");
-- Create index "agent_tenant_id_id" to table: "agents"
CREATE INDEX "agent_tenant_id_id" ON "agents" ("tenant_id", "id");
