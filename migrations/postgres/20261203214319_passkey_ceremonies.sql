-- Create "ceremonies" table
CREATE TABLE "ceremonies" ("id" character varying NOT NULL, "data" bytea NOT NULL, "expires_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "ceremony_expires_at" to table: "ceremonies"
CREATE INDEX "ceremony_expires_at" ON "ceremonies" ("expires_at");
