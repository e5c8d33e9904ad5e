package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// Credential is a registered device of a user: a WebAuthn credential
// (passkey, security key, platform authenticator). It stores every field
// go-webauthn needs to verify later assertions. Devices belong to the user,
// not to a tenant: one passkey signs a user in to every tenant they belong to.
type Credential struct{ ent.Schema }

// Mixin of Credential.
func (Credential) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}} }

// Fields of Credential.
func (Credential) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("user_id", uuid.UUID{}).Immutable(),
		// credential_id is the authenticator's raw credential id.
		field.Bytes("credential_id").NotEmpty().MaxLen(1023).Unique().Immutable(),
		// public_key is the COSE-encoded credential public key.
		field.Bytes("public_key").NotEmpty().Immutable(),
		field.String("attestation_type").MaxRuneLen(64).Default("").Immutable(),
		field.String("attestation_format").MaxRuneLen(64).Default("").Immutable(),
		field.Bytes("aaguid").MaxLen(16).Optional().Immutable(),
		field.Int64("sign_count").Default(0).NonNegative(),
		field.Bool("clone_warning").Default(false),
		field.Bool("user_present").Default(false),
		field.Bool("user_verified").Default(false),
		field.Bool("backup_eligible").Default(false).Immutable(),
		field.Bool("backup_state").Default(false),
		field.Strings("transports").Optional(),
		field.String("attachment").MaxRuneLen(32).Default(""),
		// name is the label the user gave the device.
		field.String("name").MaxRuneLen(100).Default(""),
		field.Time("last_used_at").Optional().Nillable(),
		// reenrolled_by is the member who issued the re-enrollment invitation
		// this device was enrolled with, and reenrolled_at when it was used:
		// shown to the user so that a recovery they did not ask for is seen.
		field.UUID("reenrolled_by", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.Time("reenrolled_at").Optional().Nillable().Immutable(),
	}
}

// Edges of Credential.
func (Credential) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of Credential.
func (Credential) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id")}
}

// Policy of Credential: a user sees and changes only their own devices.
func (Credential) Policy() ent.Policy { return policy.UserOwned("user_id") }
