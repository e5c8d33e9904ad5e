-- Modify "audit_events" table.
-- Hand-edited: events written before the hash chain existed get their chain
-- and sequence number here and an empty hash; `atrium audit verify` reports
-- them as unchained history before the chain's anchor.
ALTER TABLE "audit_events" ADD COLUMN "chain" character varying NULL, ADD COLUMN "seq" bigint NULL, ADD COLUMN "prev_hash" bytea NULL, ADD COLUMN "hash" bytea NULL;
UPDATE "audit_events" AS a SET "chain" = s."chain", "seq" = s."seq", "hash" = '\x'::bytea FROM (SELECT "id", COALESCE("tenant_id"::text, 'global') AS "chain", row_number() OVER (PARTITION BY COALESCE("tenant_id"::text, 'global') ORDER BY "occurred_at", "id") AS "seq" FROM "audit_events") AS s WHERE a."id" = s."id";
ALTER TABLE "audit_events" ALTER COLUMN "chain" SET NOT NULL, ALTER COLUMN "seq" SET NOT NULL, ALTER COLUMN "hash" SET NOT NULL;
-- Create index "auditevent_chain_seq" to table: "audit_events"
CREATE UNIQUE INDEX "auditevent_chain_seq" ON "audit_events" ("chain", "seq");
