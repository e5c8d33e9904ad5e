-- Add column "agent_id" to table: "conversations"
ALTER TABLE `conversations` ADD COLUMN `agent_id` uuid NULL;
-- Create "agents" table
CREATE TABLE `agents` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `instructions` text NOT NULL DEFAULT (''), `model` text NOT NULL, `temperature` real NULL, `max_tokens` integer NULL, `document_ids` json NULL, `knowledge_graph_ids` json NULL, `tenant_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `agents_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- Create index "agent_tenant_id" to table: "agents"
CREATE INDEX `agent_tenant_id` ON `agents` (`tenant_id`);
-- Create index "agent_tenant_id_id" to table: "agents"
CREATE INDEX `agent_tenant_id_id` ON `agents` (`tenant_id`, `id`);
-- Create index "agent_created_by" to table: "agents"
CREATE INDEX `agent_created_by` ON `agents` (`created_by`);
