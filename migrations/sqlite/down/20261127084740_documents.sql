-- Down script of 20261127084740_documents.sql, planned by `atrium migrate down-plan 20261127084740`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "documents" table
DROP TABLE `documents`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
