package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Conversation is a thread of messages in a tenant.
type Conversation struct{ ent.Schema }

// Mixin of Conversation.
func (Conversation) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of Conversation.
func (Conversation) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").MaxRuneLen(200).Default(""),
		field.Enum("status").Values("active", "archived").Default("active"),
		field.JSON("metadata", map[string]string{}).Optional(),
		// agent_id is the agent that answers in this conversation, if any.
		field.UUID("agent_id", uuid.UUID{}).Optional().Nillable(),
	}
}

// Edges of Conversation.
func (Conversation) Edges() []ent.Edge {
	return []ent.Edge{edge.From("messages", Message.Type).Ref("conversation")}
}

// Indexes of Conversation.
func (Conversation) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "id"), index.Fields("created_by"),
		// A viewer's own rows newest first (authz.Access.VisibleTop).
		index.Fields("tenant_id", "created_by", "id")}
}
