-- Down script of 20261203214319_passkey_ceremonies.sql: the table holds only ceremonies of at most five minutes.
-- atlas:nolint destructive
DROP TABLE "ceremonies";
