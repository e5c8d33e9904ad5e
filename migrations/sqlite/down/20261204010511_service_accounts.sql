-- Down script of 20261204010511_service_accounts.sql: drops the service accounts, their public keys and the
-- remembered assertion ids. Re-applying it starts with no service accounts.
-- atlas:nolint destructive
DROP TABLE `service_account_keys`;
-- atlas:nolint destructive
DROP TABLE `service_accounts`;
-- atlas:nolint destructive
DROP TABLE `service_account_assertions`;
