package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// Session is one signed-in device of a user. Access tokens carry its id (sid);
// every request checks that it is still active.
type Session struct{ ent.Schema }

// Mixin of Session.
func (Session) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("user_id", uuid.UUID{}).Immutable(),
		// tenant_id is the active tenant; token exchange may switch it.
		field.UUID("tenant_id", uuid.UUID{}),
		// credential_id is the device (passkey) the session was opened with.
		field.UUID("credential_id", uuid.UUID{}).Optional().Nillable(),
		field.Strings("amr").Optional(),
		field.Time("last_seen_at"),
		field.Time("idle_expires_at"),
		field.Time("expires_at").Immutable(),
		field.Time("revoked_at").Optional().Nillable(),
		field.String("revoked_reason").MaxRuneLen(64).Optional(),
	}
}

// Edges of Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id"), index.Fields("tenant_id")}
}

// Policy of Session: a user sees only their own sessions.
func (Session) Policy() ent.Policy { return policy.UserOwned("user_id") }
