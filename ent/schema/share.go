package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/entql"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// Share grants a user or a team access to one resource at a level: viewer
// (read), editor (read and change) or owner (also delete and share).
type Share struct{ ent.Schema }

// Mixin of Share.
func (Share) Mixin() []ent.Mixin {
	// A person's own shares: those they made and those made to them.
	self := func(user uuid.UUID) entql.P {
		return entql.Or(entql.FieldEQ(policy.FieldCreatedBy, user),
			entql.And(entql.FieldEQ("subject_type", "user"), entql.FieldEQ("subject_id", user)))
	}
	return []ent.Mixin{BaseMixin{}, TenantMixin{Self: self}}
}

// Fields of Share.
func (Share) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("resource_type").Values("conversation", "document", "agent", "knowledge_graph").Immutable(),
		field.UUID("resource_id", uuid.UUID{}).Immutable(),
		field.Enum("subject_type").Values("user", "team").Immutable(),
		field.UUID("subject_id", uuid.UUID{}).Immutable(),
		field.Enum("level").Values("viewer", "editor", "owner"),
	}
}

// Indexes of Share.
func (Share) Indexes() []ent.Index {
	return []ent.Index{
		// Named explicitly: generated names this long are truncated with a hash.
		index.Fields("tenant_id", "resource_type", "resource_id", "subject_type", "subject_id").Unique().StorageKey("share_resource_subject"),
		// A subject's shares of one type newest first: a branch of
		// authz.Access.VisibleTop reads n entries of it and stops.
		index.Fields("tenant_id", "subject_type", "subject_id", "resource_type", "resource_id").StorageKey("share_subject"),
	}
}
