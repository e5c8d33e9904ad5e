package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"atrium/internal/policy"
)

// Ceremony is the server side of a WebAuthn ceremony kept in the database
// while Redis is down (internal/passkey's database ceremony store). It is not
// tenant-owned: sign-in begins before anyone is known. A row lives at most
// five minutes and is deleted when it is used.
type Ceremony struct{ ent.Schema }

// Fields of Ceremony.
func (Ceremony) Fields() []ent.Field {
	return []ent.Field{
		// id is the SHA-256 (hex) of the ceremony id the client holds: a
		// database read gives no usable ceremony id.
		field.String("id").MinLen(64).MaxRuneLen(64).NotEmpty().Immutable(),
		// data is the ceremony's state: the challenge and who it is for.
		field.Bytes("data").Immutable(),
		field.Time("expires_at").Immutable(),
	}
}

// Indexes of Ceremony: expired rows are swept by expiry.
func (Ceremony) Indexes() []ent.Index { return []ent.Index{index.Fields("expires_at")} }

// Policy of Ceremony: only the system viewer touches ceremonies.
func (Ceremony) Policy() ent.Policy { return policy.SystemOnly() }
