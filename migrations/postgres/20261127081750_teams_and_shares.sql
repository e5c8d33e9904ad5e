-- Create "shares" table
CREATE TABLE "shares" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "resource_type" character varying NOT NULL, "resource_id" uuid NOT NULL, "subject_type" character varying NOT NULL, "subject_id" uuid NOT NULL, "level" character varying NOT NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "shares_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "share_resource_subject" to table: "shares"
CREATE UNIQUE INDEX "share_resource_subject" ON "shares" ("tenant_id", "resource_type", "resource_id", "subject_type", "subject_id");
-- Create index "share_subject" to table: "shares"
CREATE INDEX "share_subject" ON "shares" ("tenant_id", "subject_type", "subject_id");
-- Create index "share_tenant_id" to table: "shares"
CREATE INDEX "share_tenant_id" ON "shares" ("tenant_id");
-- Create "teams" table
CREATE TABLE "teams" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "teams_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "team_tenant_id" to table: "teams"
CREATE INDEX "team_tenant_id" ON "teams" ("tenant_id");
-- Create index "team_tenant_id_name" to table: "teams"
CREATE UNIQUE INDEX "team_tenant_id_name" ON "teams" ("tenant_id", "name");
-- Create "team_members" table
CREATE TABLE "team_members" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "tenant_id" uuid NOT NULL, "team_id" uuid NOT NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "team_members_teams_team" FOREIGN KEY ("team_id") REFERENCES "teams" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "team_members_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "team_members_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "teammember_tenant_id" to table: "team_members"
CREATE INDEX "teammember_tenant_id" ON "team_members" ("tenant_id");
-- Create index "teammember_tenant_id_team_id_user_id" to table: "team_members"
CREATE UNIQUE INDEX "teammember_tenant_id_team_id_user_id" ON "team_members" ("tenant_id", "team_id", "user_id");
-- Create index "teammember_tenant_id_user_id" to table: "team_members"
CREATE INDEX "teammember_tenant_id_user_id" ON "team_members" ("tenant_id", "user_id");
