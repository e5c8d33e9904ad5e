package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	gen "atrium/ent"
	"atrium/ent/role"
	"atrium/internal/policy"
)

// MemberRole assigns a role to a user within a tenant.
type MemberRole struct{ ent.Schema }

// Mixin of MemberRole.
func (MemberRole) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, TenantMixin{Self: policy.SelfColumns("user_id")}}
}

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

// Policy of MemberRole: the role must be the tenant's own or a system role.
func (MemberRole) Policy() ent.Policy {
	return policy.RefInTenant("role_id", func(ctx context.Context, m ent.Mutation, id uuid.UUID) (bool, error) {
		return m.(*gen.MemberRoleMutation).Client().Role.Query().Where(role.ID(id)).Exist(ctx)
	})
}

// Indexes of MemberRole.
func (MemberRole) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "user_id", "role_id").Unique(),
		index.Fields("role_id"),
	}
}
