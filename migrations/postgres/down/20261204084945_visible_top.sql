-- Down script of 20261204084945_visible_top.sql.
-- Drop the indexes of the per-source list branches (authz.Access.VisibleTop)
-- and give share_subject back its three columns. No data changes.
DROP INDEX "agent_tenant_id_created_by_id";
DROP INDEX "conversation_tenant_id_created_by_id";
DROP INDEX "document_tenant_id_created_by_id";
DROP INDEX "knowledgegraph_tenant_id_created_by_id";
DROP INDEX "share_subject";
CREATE INDEX "share_subject" ON "shares" ("tenant_id", "subject_type", "subject_id");
