package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Invitation lets someone enroll their first device in a tenant: a new user,
// or an existing member re-enrolling after losing every device. The token is
// random, shown once, and only its SHA-256 is stored; it is single-use and
// expires.
type Invitation struct{ ent.Schema }

// Mixin of Invitation.
func (Invitation) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of Invitation.
func (Invitation) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("token_hash").NotEmpty().MaxLen(32).Immutable().Sensitive(),
		field.Enum("purpose").Values("enroll", "reenroll").Immutable(),
		// user_id is the member who re-enrolls (purpose reenroll).
		field.UUID("user_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		// role_id is the role a new member gets (purpose enroll).
		field.UUID("role_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		// email is kept only until the invitation is used, revoked or
		// pruned; the enrolled user carries it from then on.
		field.String("email").MaxRuneLen(320).Optional().Nillable(),
		field.Time("expires_at").Immutable(),
		field.Time("used_at").Optional().Nillable(),
		field.UUID("used_by", uuid.UUID{}).Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Indexes of Invitation.
func (Invitation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "token_hash").Unique(),
		index.Fields("token_hash"),
	}
}
