package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	gen "atrium/ent"
	"atrium/ent/conversation"
	"atrium/internal/policy"
)

// Message is one entry of a conversation.
type Message struct{ ent.Schema }

// Mixin of Message.
func (Message) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of Message.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("conversation_id", uuid.UUID{}).Immutable(),
		field.Enum("role").Values("user", "assistant", "system").Immutable(),
		field.Text("content").Immutable(),
	}
}

// Edges of Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("conversation", Conversation.Type).Field("conversation_id").Unique().Required().Immutable(),
	}
}

// Policy of Message: on top of TenantMixin's, the conversation must be one
// the viewer can see.
func (Message) Policy() ent.Policy {
	return policy.RefInTenant("conversation_id", func(ctx context.Context, m ent.Mutation, id uuid.UUID) (bool, error) {
		return m.(*gen.MessageMutation).Client().Conversation.Query().Where(conversation.ID(id)).Exist(ctx)
	})
}

// Indexes of Message.
func (Message) Indexes() []ent.Index {
	return []ent.Index{index.Fields("conversation_id", "id")}
}
