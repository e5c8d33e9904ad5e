-- Down script of 20261127092239_knowledge_graphs.sql, planned by `atrium migrate down-plan 20261127092239`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "kg_edges" table
DROP TABLE `kg_edges`;
-- Drop "kg_nodes" table
DROP TABLE `kg_nodes`;
-- Drop "knowledge_graphs" table
DROP TABLE `knowledge_graphs`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
