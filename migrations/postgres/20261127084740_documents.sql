-- Create "documents" table
CREATE TABLE "documents" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "title" character varying NOT NULL, "content" text NOT NULL, "content_type" character varying NOT NULL DEFAULT 'text/markdown', "tags" jsonb NULL, "metadata" jsonb NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "documents_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "document_created_by" to table: "documents"
CREATE INDEX "document_created_by" ON "documents" ("created_by");
-- Create index "document_tenant_id" to table: "documents"
CREATE INDEX "document_tenant_id" ON "documents" ("tenant_id");
-- Create index "document_tenant_id_id" to table: "documents"
CREATE INDEX "document_tenant_id_id" ON "documents" ("tenant_id", "id");
