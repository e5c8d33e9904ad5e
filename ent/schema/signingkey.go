package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"

	"atrium/internal/policy"
)

// SigningKey is one key of the token signing-key ring. The private half is
// encrypted (AES-256-GCM) under the key-encryption key from configuration.
type SigningKey struct{ ent.Schema }

// Mixin of SigningKey.
func (SigningKey) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of SigningKey.
func (SigningKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("kid").NotEmpty().Unique().Immutable(),
		field.String("algorithm").NotEmpty().Immutable(),
		// public_key is the PKIX DER encoding.
		field.Bytes("public_key").Immutable(),
		// private_key_enc is nonce || AES-GCM(PKCS#8 DER), never the plain key.
		field.Bytes("private_key_enc").Immutable().Sensitive(),
		// status: next (published, not signing), active (signing), retired
		// (published for verification until verify_until).
		field.Enum("status").Values("next", "active", "retired"),
		field.Time("activated_at").Optional().Nillable(),
		field.Time("retired_at").Optional().Nillable(),
		field.Time("verify_until").Optional().Nillable(),
	}
}

// Policy of SigningKey: only the system viewer touches keys.
func (SigningKey) Policy() ent.Policy { return policy.SystemOnly() }
