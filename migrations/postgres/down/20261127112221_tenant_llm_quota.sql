-- Down script of 20261127112221_tenant_llm_quota.sql, planned by `atrium migrate down-plan 20261127112221`.
-- Modify "tenants" table
ALTER TABLE "tenants" DROP COLUMN "llm_monthly_tokens";
