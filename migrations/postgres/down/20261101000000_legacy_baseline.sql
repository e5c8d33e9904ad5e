-- Drop the legacy schema: only ever run on a database Atrium created from
-- empty (a baselined legacy database refuses to go below its baseline).
DROP TABLE "knowledge_graphs";
DROP TABLE "teams";
DROP TABLE "agents";
DROP TABLE "documents";
DROP TABLE "messages";
DROP TABLE "conversations";
DROP TABLE "old_users";
