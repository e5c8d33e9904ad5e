-- Create "audit_anchors" table
CREATE TABLE "audit_anchors" ("id" character varying NOT NULL, "seq" bigint NOT NULL, "hash" bytea NOT NULL, "pruned_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
