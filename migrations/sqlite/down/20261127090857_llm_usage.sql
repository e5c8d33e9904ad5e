-- Down script of 20261127090857_llm_usage.sql, planned by `atrium migrate down-plan 20261127090857`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "llm_usages" table
DROP TABLE `llm_usages`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
