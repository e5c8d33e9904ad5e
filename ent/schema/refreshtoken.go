package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	gen "atrium/ent"
	"atrium/ent/session"
	"atrium/internal/policy"
)

// RefreshToken is one link of a session's refresh-token chain. Tokens are
// opaque 256-bit random values stored as SHA-256 hashes and rotated on every
// use; the session is the family: presenting a token that was already
// rotated revokes the session.
type RefreshToken struct{ ent.Schema }

// Mixin of RefreshToken.
func (RefreshToken) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of RefreshToken.
func (RefreshToken) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("session_id", uuid.UUID{}).Immutable(),
		field.Bytes("token_hash").NotEmpty().MaxLen(32).Unique().Immutable().Sensitive(),
		field.Time("expires_at").Immutable(),
		field.Time("rotated_at").Optional().Nillable(),
	}
}

// Edges of RefreshToken.
func (RefreshToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("session", Session.Type).Field("session_id").Unique().Required().Immutable(),
	}
}

// Indexes of RefreshToken.
func (RefreshToken) Indexes() []ent.Index {
	return []ent.Index{index.Fields("session_id")}
}

// Policy of RefreshToken: the rows of the user's own sessions
// (viewer.ForUser: minting and rotating), or the system viewer (finding a
// token by its hash before the caller is known).
func (RefreshToken) Policy() ent.Policy {
	return policy.SessionOwned("session_id", func(ctx context.Context, m ent.Mutation, id uuid.UUID) (bool, error) {
		return m.(*gen.RefreshTokenMutation).Client().Session.Query().Where(session.ID(id)).Exist(ctx)
	})
}
