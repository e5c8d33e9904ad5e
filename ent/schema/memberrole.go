package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// MemberRole assigns a role to a user within a tenant.
type MemberRole struct{ ent.Schema }

// Mixin of MemberRole.
func (MemberRole) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of MemberRole.
func (MemberRole) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("user_id", uuid.UUID{}).Immutable(),
		field.UUID("role_id", uuid.UUID{}).Immutable(),
	}
}

// Edges of MemberRole.
func (MemberRole) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
		edge.To("role", Role.Type).Field("role_id").Unique().Required().Immutable(),
	}
}

// Indexes of MemberRole.
func (MemberRole) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "user_id", "role_id").Unique(),
		index.Fields("role_id"),
	}
}
