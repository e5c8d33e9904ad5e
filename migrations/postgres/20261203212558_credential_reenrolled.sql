-- Modify "credentials" table
ALTER TABLE "credentials" ADD COLUMN "reenrolled_by" uuid NULL, ADD COLUMN "reenrolled_at" timestamptz NULL;
