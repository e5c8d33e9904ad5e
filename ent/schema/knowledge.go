package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	gen "atrium/ent"
	"atrium/ent/knowledgegraph"
	"atrium/internal/policy"
)

// KnowledgeGraph is a graph of typed nodes and edges of a tenant, linked to
// documents; agents draw context from it.
type KnowledgeGraph struct{ ent.Schema }

// Mixin of KnowledgeGraph.
func (KnowledgeGraph) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of KnowledgeGraph.
func (KnowledgeGraph) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxRuneLen(200),
		field.String("description").MaxRuneLen(2000).Default(""),
		field.JSON("document_ids", []uuid.UUID{}).Optional(),
	}
}

// Edges of KnowledgeGraph.
func (KnowledgeGraph) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("nodes", KGNode.Type).Ref("graph"),
		edge.From("links", KGEdge.Type).Ref("graph"),
	}
}

// Indexes of KnowledgeGraph.
func (KnowledgeGraph) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "id"), index.Fields("created_by"),
		// A viewer's own rows newest first (authz.Access.VisibleTop).
		index.Fields("tenant_id", "created_by", "id")}
}

// KGNode is a typed node of a knowledge graph, optionally about a document.
type KGNode struct{ ent.Schema }

// Mixin of KGNode.
func (KGNode) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of KGNode.
func (KGNode) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("graph_id", uuid.UUID{}).Immutable(),
		field.String("type").NotEmpty().MaxRuneLen(100),
		field.String("label").NotEmpty().MaxRuneLen(500),
		field.JSON("properties", map[string]string{}).Optional(),
		field.UUID("document_id", uuid.UUID{}).Optional().Nillable(),
	}
}

// Edges of KGNode.
func (KGNode) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("graph", KnowledgeGraph.Type).Field("graph_id").Unique().Required().Immutable(),
	}
}

// Policy of KGNode: the graph must be one the viewer's tenant holds.
func (KGNode) Policy() ent.Policy { return graphInTenant() }

// Indexes of KGNode.
func (KGNode) Indexes() []ent.Index {
	return []ent.Index{index.Fields("graph_id", "id")}
}

// KGEdge is a typed, directed edge between two nodes of one graph.
type KGEdge struct{ ent.Schema }

// Mixin of KGEdge.
func (KGEdge) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of KGEdge.
func (KGEdge) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("graph_id", uuid.UUID{}).Immutable(),
		field.UUID("source_id", uuid.UUID{}).Immutable(),
		field.UUID("target_id", uuid.UUID{}).Immutable(),
		field.String("type").NotEmpty().MaxRuneLen(100),
		field.JSON("properties", map[string]string{}).Optional(),
	}
}

// Edges of KGEdge.
func (KGEdge) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("graph", KnowledgeGraph.Type).Field("graph_id").Unique().Required().Immutable(),
	}
}

// Policy of KGEdge: the graph must be one the viewer's tenant holds.
func (KGEdge) Policy() ent.Policy { return graphInTenant() }

// Indexes of KGEdge.
func (KGEdge) Indexes() []ent.Index {
	return []ent.Index{index.Fields("graph_id", "source_id"), index.Fields("graph_id", "target_id")}
}

func graphInTenant() ent.Policy {
	return policy.RefInTenant("graph_id", func(ctx context.Context, m ent.Mutation, id uuid.UUID) (bool, error) {
		c := m.(interface{ Client() *gen.Client }).Client()
		return c.KnowledgeGraph.Query().Where(knowledgegraph.ID(id)).Exist(ctx)
	})
}
