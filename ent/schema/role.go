package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/entql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// Role is a named set of permission grants. System roles (admin, member,
// viewer) have no tenant and are seeded by a data migration; tenants add
// custom roles of their own.
type Role struct{ ent.Schema }

// Mixin of Role.
func (Role) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of Role.
func (Role) Fields() []ent.Field {
	return []ent.Field{
		field.UUID(policy.FieldTenantID, uuid.UUID{}).Optional().Nillable().Immutable(),
		field.String("name").NotEmpty().MaxRuneLen(100),
		field.String("description").MaxRuneLen(1000).Default(""),
		field.Bool("system").Default(false).Immutable(),
		// permissions are grants: catalog names or wildcards ("conversation.*", "*").
		field.Strings("permissions"),
		field.UUID(policy.FieldCreatedBy, uuid.UUID{}).Optional().Immutable(),
		field.UUID(policy.FieldUpdatedBy, uuid.UUID{}).Optional(),
	}
}

// Edges of Role.
func (Role) Edges() []ent.Edge {
	return []ent.Edge{edge.From("member_roles", MemberRole.Type).Ref("role")}
}

// Indexes of Role.
func (Role) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name").Unique()}
}

// Policy of Role.
func (Role) Policy() ent.Policy {
	return policy.TenantOrShared(func(user uuid.UUID) entql.P {
		return entql.HasEdgeWith("member_roles", entql.FieldEQ("user_id", user))
	})
}
