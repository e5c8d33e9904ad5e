-- Create "llm_usages" table
CREATE TABLE "llm_usages" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "model" character varying NOT NULL, "provider" character varying NOT NULL DEFAULT '', "kind" character varying NOT NULL, "conversation_id" uuid NULL, "prompt_tokens" bigint NOT NULL, "completion_tokens" bigint NOT NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "llm_usages_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "llmusage_created_by" to table: "llm_usages"
CREATE INDEX "llmusage_created_by" ON "llm_usages" ("created_by");
-- Create index "llmusage_tenant_id" to table: "llm_usages"
CREATE INDEX "llmusage_tenant_id" ON "llm_usages" ("tenant_id");
-- Create index "llmusage_tenant_id_created_at" to table: "llm_usages"
CREATE INDEX "llmusage_tenant_id_created_at" ON "llm_usages" ("tenant_id", "created_at");
