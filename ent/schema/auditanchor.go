package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"

	"atrium/internal/policy"
)

// AuditAnchor records where a pruned audit chain now starts: the sequence
// number and hash of the last event removed, so the remaining events still
// verify.
type AuditAnchor struct{ ent.Schema }

// Fields of AuditAnchor.
func (AuditAnchor) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").NotEmpty().MaxRuneLen(36).Immutable().Comment("the chain"),
		field.Int64("seq").Positive(),
		field.Bytes("hash").MaxLen(32).NotEmpty(),
		field.Time("pruned_at").Default(time.Now),
	}
}

// Policy of AuditAnchor: system only.
func (AuditAnchor) Policy() ent.Policy { return policy.SystemOnly() }
