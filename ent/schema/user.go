package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// User is a person. There is no password or secret column of any kind: a user
// proves who they are with a registered device (passkey).
type User struct{ ent.Schema }

// Mixin of User.
func (User) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("display_name").MaxRuneLen(200).Default(""),
		field.String("email").MaxRuneLen(320).Optional().Nillable().Unique(),
		// external_id keeps the identifier a user had in a system Atrium adopted
		// (the legacy old_users id).
		field.String("external_id").MaxRuneLen(200).Optional().Nillable().Unique(),
		field.Enum("status").Values("active", "disabled", "erased").Default("active"),
		field.UUID("last_tenant_id", uuid.UUID{}).Optional().Nillable(),
	}
}

// Edges of User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("memberships", Membership.Type).Ref("user"),
		edge.From("sessions", Session.Type).Ref("user"),
	}
}

// Policy of User: global table; services restrict what a viewer may see, and
// a self viewer (viewer.ForUser) sees only its own row.
func (User) Policy() ent.Policy { return policy.Users() }
