-- Down script of 20261204133717_audit_hash_version.sql, planned by `atrium migrate down-plan 20261204133717`.
-- Events appended in format 2 (hash_version = 2) keep their hashes, which the
-- previous release, knowing format 1 only, reports as "edited": run
-- `atrium audit verify` before rolling back if that matters, and keep its output.
-- Modify "audit_events" table
ALTER TABLE "audit_events" DROP COLUMN "hash_version";
