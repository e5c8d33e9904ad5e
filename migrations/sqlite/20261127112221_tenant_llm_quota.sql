-- Add column "llm_monthly_tokens" to table: "tenants"
ALTER TABLE `tenants` ADD COLUMN `llm_monthly_tokens` integer NULL;
