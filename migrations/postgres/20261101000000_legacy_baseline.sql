-- Legacy baseline: the schema of the pre-authentication, single-tenant
-- workspace that Atrium adopts (docs/migration-runbook.md). A fresh install
-- creates these tables empty and the steps after this file reshape them; an
-- existing legacy database is adopted with
--   atrium migrate apply --baseline 20261101000000
-- (or `atlas migrate apply --env production --baseline 20261101000000`).
CREATE TABLE "old_users" (
  "id" uuid NOT NULL,
  "email" character varying NOT NULL,
  "name" character varying NOT NULL DEFAULT '',
  "is_admin" boolean NOT NULL DEFAULT false,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "old_users_email_key" ON "old_users" ("email");
CREATE TABLE "conversations" (
  "id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "title" character varying NOT NULL DEFAULT '',
  "metadata" jsonb NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id"),
  CONSTRAINT "conversations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "old_users" ("id")
);
CREATE INDEX "conversations_user_id_idx" ON "conversations" ("user_id");
CREATE TABLE "messages" (
  "id" uuid NOT NULL,
  "conversation_id" uuid NOT NULL,
  "role" character varying NOT NULL,
  "content" text NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id"),
  CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id")
);
CREATE INDEX "messages_conversation_id_idx" ON "messages" ("conversation_id");
CREATE TABLE "documents" (
  "id" uuid NOT NULL,
  "title" character varying NOT NULL,
  "content" text NOT NULL,
  "content_type" character varying NOT NULL DEFAULT 'text/markdown',
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
CREATE TABLE "agents" (
  "id" uuid NOT NULL,
  "name" character varying NOT NULL,
  "description" character varying NOT NULL DEFAULT '',
  "instructions" text NOT NULL DEFAULT '',
  "model" character varying NOT NULL,
  "temperature" double precision NULL,
  "max_tokens" bigint NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
CREATE TABLE "teams" (
  "id" uuid NOT NULL,
  "name" character varying NOT NULL,
  "description" character varying NOT NULL DEFAULT '',
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "teams_name_key" ON "teams" ("name");
CREATE TABLE "knowledge_graphs" (
  "id" uuid NOT NULL,
  "name" character varying NOT NULL,
  "description" character varying NOT NULL DEFAULT '',
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
