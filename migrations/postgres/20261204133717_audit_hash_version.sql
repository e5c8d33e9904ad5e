-- Modify "audit_events" table
ALTER TABLE "audit_events" ADD COLUMN "hash_version" smallint NOT NULL DEFAULT 1;
