package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// AuditEvent records one data change or auth event. It holds IDs only, never
// personal data; actor is a pseudonymous reference.
type AuditEvent struct{ ent.Schema }

// Fields of AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(NewID).Immutable(),
		field.Time("occurred_at").Default(time.Now).Immutable(),
		// tenant_id is empty for events outside any tenant (e.g. a failed login).
		field.UUID(policy.FieldTenantID, uuid.UUID{}).Optional().Nillable().Immutable(),
		field.String("action").NotEmpty().MaxRuneLen(100).Immutable(),
		field.Enum("outcome").Values("success", "failure", "denied").Default("success").Immutable(),
		field.UUID("actor", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.UUID("session_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.String("resource_type").MaxRuneLen(64).Default("").Immutable(),
		field.UUID("resource_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.String("request_id").MaxRuneLen(64).Default("").Immutable(),
		// details holds IDs and codes only (reason codes, changed field names).
		field.JSON("details", map[string]string{}).Optional().Immutable(),
		// chain is the hash chain the event belongs to: its tenant's id, or
		// "global" for events outside any tenant. seq numbers the chain from
		// 1. hash_version says how hash links the event (internal/audit):
		// 1, SHA-256(prev_hash || canonical encoding of the event); 2,
		// SHA-256(prev_hash || seq || SHA-256(canonical encoding without
		// seq)), which PostgreSQL computes as it appends.
		field.String("chain").NotEmpty().MaxRuneLen(36).Immutable(),
		field.Int64("seq").Positive().Immutable(),
		field.Bytes("prev_hash").MaxLen(32).Optional().Immutable(),
		field.Bytes("hash").MaxLen(32).NotEmpty().Immutable(),
		field.Int16("hash_version").Default(1).Immutable(),
	}
}

// Indexes of AuditEvent.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("chain", "seq").Unique(),
		index.Fields("tenant_id", "occurred_at"),
		index.Fields("actor"),
	}
}

// Policy of AuditEvent: a tenant reads its own events; only the audit
// writer (system) writes, and nothing updates or deletes outside it.
func (AuditEvent) Policy() ent.Policy { return policy.TenantReadSystemWrite() }
