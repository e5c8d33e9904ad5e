-- Modify "tenants" table
ALTER TABLE "tenants" ADD COLUMN "erasure_policy" character varying NOT NULL DEFAULT 'transfer';
-- Create "actor_refs" table
CREATE TABLE "actor_refs" ("id" uuid NOT NULL, "user_id" uuid NOT NULL, PRIMARY KEY ("id"));
-- Create index "actor_refs_user_id_key" to table: "actor_refs"
CREATE UNIQUE INDEX "actor_refs_user_id_key" ON "actor_refs" ("user_id");
-- Hand-added: events written before pseudonyms existed name the user id itself;
-- link it so erasure can cut that link too.
INSERT INTO actor_refs (id, user_id) SELECT DISTINCT actor, actor FROM audit_events WHERE actor IS NOT NULL;
