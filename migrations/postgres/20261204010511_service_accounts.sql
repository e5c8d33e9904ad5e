-- Create "service_account_assertions" table
CREATE TABLE "service_account_assertions" ("id" character varying NOT NULL, "expires_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "serviceaccountassertion_expires_at" to table: "service_account_assertions"
CREATE INDEX "serviceaccountassertion_expires_at" ON "service_account_assertions" ("expires_at");
-- Create "service_accounts" table
CREATE TABLE "service_accounts" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "role_ids" jsonb NOT NULL, "administration" boolean NOT NULL DEFAULT false, "disabled_at" timestamptz NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "service_accounts_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "serviceaccount_tenant_id" to table: "service_accounts"
CREATE INDEX "serviceaccount_tenant_id" ON "service_accounts" ("tenant_id");
-- Create index "serviceaccount_tenant_id_name" to table: "service_accounts"
CREATE UNIQUE INDEX "serviceaccount_tenant_id_name" ON "service_accounts" ("tenant_id", "name");
-- Create "service_account_keys" table
CREATE TABLE "service_account_keys" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "kid" character varying NOT NULL, "alg" character varying NOT NULL, "public_key" character varying NOT NULL, "expires_at" timestamptz NULL, "revoked_at" timestamptz NULL, "last_used_at" timestamptz NULL, "tenant_id" uuid NOT NULL, "service_account_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "service_account_keys_service_accounts_service_account" FOREIGN KEY ("service_account_id") REFERENCES "service_accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "service_account_keys_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "serviceaccountkey_service_account_id_kid" to table: "service_account_keys"
CREATE UNIQUE INDEX "serviceaccountkey_service_account_id_kid" ON "service_account_keys" ("service_account_id", "kid");
-- Create index "serviceaccountkey_tenant_id" to table: "service_account_keys"
CREATE INDEX "serviceaccountkey_tenant_id" ON "service_account_keys" ("tenant_id");
-- Row-level security on the tenant-owned tables (see 20261203120000_row_level_security).
ALTER TABLE "service_accounts" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "service_accounts" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "service_accounts" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
ALTER TABLE "service_account_keys" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "atrium_tenant" ON "service_account_keys" USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY "atrium_system" ON "service_account_keys" USING (current_setting('app.system', true) = 'on') WITH CHECK (current_setting('app.system', true) = 'on');
