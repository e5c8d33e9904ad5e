-- Down script of 20261127084058_audit_anchors.sql, planned by `atrium migrate down-plan 20261127084058`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "audit_anchors" table
DROP TABLE `audit_anchors`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
