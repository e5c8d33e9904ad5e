-- atlas:txmode none

-- Step 4: every legacy row gets its author (its tenant came with step 2). A
-- conversation and its messages belong to the conversation's legacy user;
-- documents, agents, teams and knowledge graphs had no author, so they go to
-- the legacy owner: the earliest legacy admin (or, with no admin, the
-- earliest user).
--
-- Batched: the file runs outside a transaction (txmode none), and the
-- conversations and messages are backfilled in slices of 2,000 heap pages
-- (TID range scans, PostgreSQL 14+), each committed on its own, so no lock
-- is held for more than a second or two and a failure keeps the slices done.
-- Every statement touches only rows still without an author: running it
-- again, after a failure, continues where it stopped. The messages' legacy
-- index on conversation_id (replaced in step 7) is dropped first and their
-- tenant index built last, so the 4 rows per conversation of a large
-- database update only the primary key: 2.2 min instead of 3.8 for 4M
-- messages (docs/migration-runbook.md).
DROP INDEX IF EXISTS "messages_conversation_id_idx";
UPDATE "documents" SET "created_by" = o."id", "updated_by" = o."id"
FROM (SELECT "id" FROM "old_users" ORDER BY "is_admin" DESC, "created_at", "id" LIMIT 1) AS o WHERE "created_by" IS NULL;
UPDATE "agents" SET "created_by" = o."id", "updated_by" = o."id"
FROM (SELECT "id" FROM "old_users" ORDER BY "is_admin" DESC, "created_at", "id" LIMIT 1) AS o WHERE "created_by" IS NULL;
UPDATE "teams" SET "created_by" = o."id", "updated_by" = o."id"
FROM (SELECT "id" FROM "old_users" ORDER BY "is_admin" DESC, "created_at", "id" LIMIT 1) AS o WHERE "created_by" IS NULL;
UPDATE "knowledge_graphs" SET "created_by" = o."id", "updated_by" = o."id"
FROM (SELECT "id" FROM "old_users" ORDER BY "is_admin" DESC, "created_at", "id" LIMIT 1) AS o WHERE "created_by" IS NULL;
DO $$
DECLARE
  p bigint := 0;
  last bigint := pg_relation_size('conversations') / current_setting('block_size')::bigint;
BEGIN
  WHILE p <= last LOOP
    UPDATE "conversations" SET "created_by" = "user_id", "updated_by" = "user_id"
    WHERE ctid >= format('(%s,0)', p)::tid AND ctid < format('(%s,0)', p + 2000)::tid AND "created_by" IS NULL;
    COMMIT;
    p := p + 2000;
  END LOOP;
END
$$;
DO $$
DECLARE
  p bigint := 0;
  last bigint := pg_relation_size('messages') / current_setting('block_size')::bigint;
BEGIN
  WHILE p <= last LOOP
    UPDATE "messages" AS m SET "created_by" = c."created_by", "updated_by" = c."created_by", "updated_at" = m."created_at"
    FROM "conversations" AS c
    WHERE m.ctid >= format('(%s,0)', p)::tid AND m.ctid < format('(%s,0)', p + 2000)::tid
      AND c."id" = m."conversation_id" AND m."created_by" IS NULL;
    COMMIT;
    p := p + 2000;
  END LOOP;
END
$$;
CREATE INDEX IF NOT EXISTS "message_tenant_id" ON "messages" ("tenant_id");
