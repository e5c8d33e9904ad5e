-- Down script of 20261127081750_teams_and_shares.sql, planned by `atrium migrate down-plan 20261127081750`.
-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Drop "shares" table
DROP TABLE `shares`;
-- Drop "teams" table
DROP TABLE `teams`;
-- Drop "team_members" table
DROP TABLE `team_members`;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
