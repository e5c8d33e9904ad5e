-- Create "knowledge_graphs" table
CREATE TABLE "knowledge_graphs" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "document_ids" jsonb NULL, "tenant_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "knowledge_graphs_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "knowledgegraph_created_by" to table: "knowledge_graphs"
CREATE INDEX "knowledgegraph_created_by" ON "knowledge_graphs" ("created_by");
-- Create index "knowledgegraph_tenant_id" to table: "knowledge_graphs"
CREATE INDEX "knowledgegraph_tenant_id" ON "knowledge_graphs" ("tenant_id");
-- Create index "knowledgegraph_tenant_id_id" to table: "knowledge_graphs"
CREATE INDEX "knowledgegraph_tenant_id_id" ON "knowledge_graphs" ("tenant_id", "id");
-- Create "kg_edges" table
CREATE TABLE "kg_edges" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "source_id" uuid NOT NULL, "target_id" uuid NOT NULL, "type" character varying NOT NULL, "properties" jsonb NULL, "tenant_id" uuid NOT NULL, "graph_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "kg_edges_knowledge_graphs_graph" FOREIGN KEY ("graph_id") REFERENCES "knowledge_graphs" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "kg_edges_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "kgedge_graph_id_source_id" to table: "kg_edges"
CREATE INDEX "kgedge_graph_id_source_id" ON "kg_edges" ("graph_id", "source_id");
-- Create index "kgedge_graph_id_target_id" to table: "kg_edges"
CREATE INDEX "kgedge_graph_id_target_id" ON "kg_edges" ("graph_id", "target_id");
-- Create index "kgedge_tenant_id" to table: "kg_edges"
CREATE INDEX "kgedge_tenant_id" ON "kg_edges" ("tenant_id");
-- Create "kg_nodes" table
CREATE TABLE "kg_nodes" ("id" uuid NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "created_by" uuid NOT NULL, "updated_by" uuid NOT NULL, "type" character varying NOT NULL, "label" character varying NOT NULL, "properties" jsonb NULL, "document_id" uuid NULL, "tenant_id" uuid NOT NULL, "graph_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "kg_nodes_knowledge_graphs_graph" FOREIGN KEY ("graph_id") REFERENCES "knowledge_graphs" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "kg_nodes_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "kgnode_graph_id_id" to table: "kg_nodes"
CREATE INDEX "kgnode_graph_id_id" ON "kg_nodes" ("graph_id", "id");
-- Create index "kgnode_tenant_id" to table: "kg_nodes"
CREATE INDEX "kgnode_tenant_id" ON "kg_nodes" ("tenant_id");
