package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"atrium/internal/policy"
)

// Tenant is an isolated workspace: an organisation using Atrium.
type Tenant struct{ ent.Schema }

// Mixin of Tenant.
func (Tenant) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of Tenant.
func (Tenant) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxRuneLen(200),
		field.String("slug").NotEmpty().MaxRuneLen(63).Unique(),
		field.Enum("status").Values("active", "suspended").Default("active"),
		// erasure_policy decides what happens to an erased member's
		// resources: deleted with them, or handed to the tenant (kept, with
		// authorship cleared to the tenant's system identity).
		field.Enum("erasure_policy").Values("delete", "transfer").Default("transfer"),
		// llm_monthly_tokens overrides the deployment's monthly LLM token
		// quota (ATRIUM_LLM_MONTHLY_TOKENS) for this tenant: NULL uses the
		// deployment's, 0 means unlimited.
		field.Int64("llm_monthly_tokens").Optional().Nillable().NonNegative(),
	}
}

// Edges of Tenant.
func (Tenant) Edges() []ent.Edge {
	return []ent.Edge{edge.From("memberships", Membership.Type).Ref("tenant")}
}

// Policy of Tenant: global table; services restrict what a viewer may see.
func (Tenant) Policy() ent.Policy { return policy.AnyViewer() }
