package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// ServiceAccount is a non-human identity of a tenant: a backend service that
// authenticates with a JWT assertion signed by one of its registered keys
// (RFC 7523) and acts with the permissions of its roles. No secret of it is
// stored: its keys are public keys.
type ServiceAccount struct{ ent.Schema }

// Mixin of ServiceAccount.
func (ServiceAccount) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of ServiceAccount.
func (ServiceAccount) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(100),
		field.String("description").MaxLen(1000).Default(""),
		// role_ids are the roles it holds: the tenant's own or system roles.
		// A role deleted later is ignored (fewer permissions, never more).
		field.JSON("role_ids", []uuid.UUID{}).Default([]uuid.UUID{}),
		// administration is true when someone holding them explicitly gave it
		// administrative permissions (authz.Administrative); without it they
		// are stripped from its effective permissions whatever its roles say.
		field.Bool("administration").Default(false),
		field.Time("disabled_at").Optional().Nillable(),
	}
}

// Edges of ServiceAccount.
func (ServiceAccount) Edges() []ent.Edge {
	return []ent.Edge{edge.From("keys", ServiceAccountKey.Type).Ref("service_account")}
}

// Indexes of ServiceAccount.
func (ServiceAccount) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name").Unique()}
}

// ServiceAccountKey is a public key a service account signs its assertions
// with. The private half never reaches Atrium.
type ServiceAccountKey struct{ ent.Schema }

// Mixin of ServiceAccountKey.
func (ServiceAccountKey) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of ServiceAccountKey.
func (ServiceAccountKey) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("service_account_id", uuid.UUID{}).Immutable(),
		// kid is what assertions signed with the key name: given at
		// registration, or the JWK's own, or the key's RFC 7638 thumbprint
		// (keys registered before JWKs were accepted: the base64url SHA-256 of
		// the DER SubjectPublicKeyInfo).
		field.String("kid").NotEmpty().MaxLen(64).Immutable(),
		field.Enum("alg").Values("RS256", "ES256", "EdDSA").Immutable(),
		// public_key is the PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
		field.String("public_key").NotEmpty().MaxLen(4096).Immutable(),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
		field.Time("last_used_at").Optional().Nillable(),
	}
}

// Edges of ServiceAccountKey.
func (ServiceAccountKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("service_account", ServiceAccount.Type).Field("service_account_id").Unique().Required().Immutable(),
	}
}

// Indexes of ServiceAccountKey.
func (ServiceAccountKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("service_account_id", "kid").Unique()}
}

// ServiceAccountAssertion remembers the jti of an accepted assertion until
// the assertion expires, so that it cannot be presented twice (RFC 7523
// section 3, item 7). It is not tenant-owned: it is written before the
// caller is known to be anyone, by the system viewer only.
type ServiceAccountAssertion struct{ ent.Schema }

// Fields of ServiceAccountAssertion.
func (ServiceAccountAssertion) Fields() []ent.Field {
	return []ent.Field{
		// id is the SHA-256 (hex) of the service account id and the jti.
		field.String("id").MinLen(64).MaxLen(64).NotEmpty().Immutable(),
		field.Time("expires_at").Immutable(),
	}
}

// Indexes of ServiceAccountAssertion: expired rows are swept by expiry.
func (ServiceAccountAssertion) Indexes() []ent.Index {
	return []ent.Index{index.Fields("expires_at")}
}

// Policy of ServiceAccountAssertion: only the system viewer.
func (ServiceAccountAssertion) Policy() ent.Policy { return policy.SystemOnly() }
