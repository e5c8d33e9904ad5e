-- Clear what the backfill wrote (tenant_id came with step 2 and goes with
-- its down). One transaction: at 1M conversations it takes minutes.
UPDATE "conversations" SET "created_by" = NULL, "updated_by" = NULL WHERE "created_by" IS NOT NULL;
UPDATE "messages" SET "created_by" = NULL, "updated_by" = NULL, "updated_at" = NULL WHERE "created_by" IS NOT NULL;
UPDATE "documents" SET "created_by" = NULL, "updated_by" = NULL WHERE "created_by" IS NOT NULL;
UPDATE "agents" SET "created_by" = NULL, "updated_by" = NULL WHERE "created_by" IS NOT NULL;
UPDATE "teams" SET "created_by" = NULL, "updated_by" = NULL WHERE "created_by" IS NOT NULL;
UPDATE "knowledge_graphs" SET "created_by" = NULL, "updated_by" = NULL WHERE "created_by" IS NOT NULL;
DROP INDEX "message_tenant_id";
CREATE INDEX "messages_conversation_id_idx" ON "messages" ("conversation_id");
