-- Create "documents" table
CREATE TABLE `documents` (`id` uuid NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `created_by` uuid NOT NULL, `updated_by` uuid NOT NULL, `title` text NOT NULL, `content` text NOT NULL, `content_type` text NOT NULL DEFAULT ('text/markdown'), `tags` json NULL, `metadata` json NULL, `tenant_id` uuid NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `documents_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- Create index "document_tenant_id" to table: "documents"
CREATE INDEX `document_tenant_id` ON `documents` (`tenant_id`);
-- Create index "document_tenant_id_id" to table: "documents"
CREATE INDEX `document_tenant_id_id` ON `documents` (`tenant_id`, `id`);
-- Create index "document_created_by" to table: "documents"
CREATE INDEX `document_created_by` ON `documents` (`created_by`);
