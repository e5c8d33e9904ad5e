package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// NewID returns a new UUIDv7: time-ordered, so primary-key indexes stay
// append-mostly and "newest first" equals "highest id first".
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// BaseMixin gives every table a UUIDv7 id and creation/update times.
type BaseMixin struct{ mixin.Schema }

// Fields of BaseMixin.
func (BaseMixin) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(NewID).Immutable(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

// TenantMixin makes a table tenant-owned: an immutable tenant_id with its edge,
// authorship columns, and the tenant privacy policy (internal/policy).
// Self, when set, names the rows a person reads about themselves in any
// tenant (their data export, as viewer.ForUser); the same rows as the
// atrium_self row-level security policy of the table on PostgreSQL.
type TenantMixin struct {
	mixin.Schema
	Self policy.SelfP
}

// Fields of TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.UUID(policy.FieldTenantID, uuid.UUID{}).Immutable(),
		field.UUID(policy.FieldCreatedBy, uuid.UUID{}).Immutable(),
		field.UUID(policy.FieldUpdatedBy, uuid.UUID{}),
	}
}

// Edges of TenantMixin.
func (TenantMixin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field(policy.FieldTenantID).Unique().Required().Immutable(),
	}
}

// Indexes of TenantMixin.
func (TenantMixin) Indexes() []ent.Index {
	return []ent.Index{index.Fields(policy.FieldTenantID)}
}

// Policy of TenantMixin.
func (m TenantMixin) Policy() ent.Policy { return policy.TenantOwned(m.Self) }
