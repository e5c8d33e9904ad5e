-- Drop the columns step 2 added (their indexes go with them).
ALTER TABLE "knowledge_graphs" DROP COLUMN "tenant_id", DROP COLUMN "created_by", DROP COLUMN "updated_by", DROP COLUMN "document_ids";
ALTER TABLE "teams" DROP COLUMN "tenant_id", DROP COLUMN "created_by", DROP COLUMN "updated_by";
ALTER TABLE "agents" DROP COLUMN "tenant_id", DROP COLUMN "created_by", DROP COLUMN "updated_by", DROP COLUMN "document_ids", DROP COLUMN "knowledge_graph_ids";
ALTER TABLE "documents" DROP COLUMN "tenant_id", DROP COLUMN "created_by", DROP COLUMN "updated_by", DROP COLUMN "tags", DROP COLUMN "metadata";
ALTER TABLE "messages" DROP COLUMN "tenant_id", DROP COLUMN "created_by", DROP COLUMN "updated_by", DROP COLUMN "updated_at";
ALTER TABLE "conversations" DROP COLUMN "tenant_id", DROP COLUMN "created_by", DROP COLUMN "updated_by", DROP COLUMN "status", DROP COLUMN "agent_id";
