-- Create index "agent_tenant_id_created_by_id" to table: "agents"
CREATE INDEX `agent_tenant_id_created_by_id` ON `agents` (`tenant_id`, `created_by`, `id`);
-- Create index "conversation_tenant_id_created_by_id" to table: "conversations"
CREATE INDEX `conversation_tenant_id_created_by_id` ON `conversations` (`tenant_id`, `created_by`, `id`);
-- Create index "document_tenant_id_created_by_id" to table: "documents"
CREATE INDEX `document_tenant_id_created_by_id` ON `documents` (`tenant_id`, `created_by`, `id`);
-- Create index "knowledgegraph_tenant_id_created_by_id" to table: "knowledge_graphs"
CREATE INDEX `knowledgegraph_tenant_id_created_by_id` ON `knowledge_graphs` (`tenant_id`, `created_by`, `id`);
-- Widen index "share_subject" of table "shares" (atlas would rebuild the table; an index needs no rebuild)
DROP INDEX `share_subject`;
CREATE INDEX `share_subject` ON `shares` (`tenant_id`, `subject_type`, `subject_id`, `resource_type`, `resource_id`);
