-- Restore the messages' indexes as they were before the backfill. The authors
-- it wrote are left in place on purpose: clearing 5M rows would take minutes
-- in one transaction for nothing, since the columns go with the down of step
-- 2, and a backfill applied again skips rows that already have an author
-- (and would write the same values).
DROP INDEX "message_tenant_id";
CREATE INDEX "messages_conversation_id_idx" ON "messages" ("conversation_id");
