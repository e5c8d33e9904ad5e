package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Agent is a configured assistant of a tenant: instructions, a model and its
// parameters, and the documents (and knowledge graphs) it draws context from.
type Agent struct{ ent.Schema }

// Mixin of Agent.
func (Agent) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of Agent.
func (Agent) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxRuneLen(200),
		field.String("description").MaxRuneLen(2000).Default(""),
		field.Text("instructions").Default(""),
		field.String("model").NotEmpty().MaxRuneLen(200),
		field.Float("temperature").Optional().Nillable().Min(0).Max(2),
		field.Int("max_tokens").Optional().Nillable().Positive(),
		// document_ids are documents of the tenant the agent uses as context;
		// ids the caller could not see are refused when set, and documents
		// deleted later are skipped when used.
		field.JSON("document_ids", []uuid.UUID{}).Optional(),
		field.JSON("knowledge_graph_ids", []uuid.UUID{}).Optional(),
	}
}

// Indexes of Agent.
func (Agent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "id"), index.Fields("created_by"),
		// A viewer's own rows newest first (authz.Access.VisibleTop).
		index.Fields("tenant_id", "created_by", "id")}
}
