-- Add column "reenrolled_by" to table: "credentials"
ALTER TABLE `credentials` ADD COLUMN `reenrolled_by` uuid NULL;
-- Add column "reenrolled_at" to table: "credentials"
ALTER TABLE `credentials` ADD COLUMN `reenrolled_at` datetime NULL;
