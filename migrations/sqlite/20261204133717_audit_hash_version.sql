-- Add column "hash_version" to table: "audit_events" (in place: the table's
-- rows are not copied)
ALTER TABLE `audit_events` ADD COLUMN `hash_version` integer NOT NULL DEFAULT (1);
