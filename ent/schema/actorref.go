package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// ActorRef is the one link from the pseudonym that audit events name as
// their actor to the user behind it. Erasing a user deletes this row: the
// audit trail keeps verifying, and no longer leads to the person.
type ActorRef struct{ ent.Schema }

// Fields of ActorRef.
func (ActorRef) Fields() []ent.Field {
	return []ent.Field{
		// id is the pseudonym written into audit_events.actor.
		field.UUID("id", uuid.UUID{}).Default(NewID).Immutable(),
		field.UUID("user_id", uuid.UUID{}).Unique().Immutable(),
	}
}

// Policy of ActorRef: only the audit writer and compliance code (system).
func (ActorRef) Policy() ent.Policy { return policy.SystemOnly() }
