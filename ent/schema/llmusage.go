package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// LLMUsage records the tokens of one LLM call, per tenant and user (the
// creator), for quotas and the user's data export.
type LLMUsage struct{ ent.Schema }

// Mixin of LLMUsage.
func (LLMUsage) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of LLMUsage.
func (LLMUsage) Fields() []ent.Field {
	return []ent.Field{
		field.String("model").NotEmpty().MaxRuneLen(200).Immutable(),
		field.String("provider").MaxRuneLen(100).Default("").Immutable(),
		field.Enum("kind").Values("completion", "reply").Immutable(),
		field.UUID("conversation_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.Int("prompt_tokens").NonNegative().Immutable(),
		field.Int("completion_tokens").NonNegative().Immutable(),
	}
}

// Indexes of LLMUsage.
func (LLMUsage) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "created_at"), index.Fields("created_by")}
}
