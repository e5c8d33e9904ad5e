-- Modify "tenants" table
ALTER TABLE "tenants" ADD COLUMN "llm_monthly_tokens" bigint NULL;
