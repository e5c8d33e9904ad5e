package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"atrium/internal/policy"
)

// Team is a named group of members of a tenant; resources can be shared with
// a team.
type Team struct{ ent.Schema }

// Mixin of Team.
func (Team) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, TenantMixin{}} }

// Fields of Team.
func (Team) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxRuneLen(100),
		field.String("description").MaxRuneLen(1000).Default(""),
	}
}

// Edges of Team.
func (Team) Edges() []ent.Edge {
	return []ent.Edge{edge.From("members", TeamMember.Type).Ref("team")}
}

// Indexes of Team.
func (Team) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name").Unique()}
}

// TeamMember puts a member of the tenant in a team.
type TeamMember struct{ ent.Schema }

// Mixin of TeamMember.
func (TeamMember) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, TenantMixin{Self: policy.SelfColumns("user_id")}}
}

// Fields of TeamMember.
func (TeamMember) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("team_id", uuid.UUID{}).Immutable(),
		field.UUID("user_id", uuid.UUID{}).Immutable(),
	}
}

// Edges of TeamMember.
func (TeamMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("team", Team.Type).Field("team_id").Unique().Required().Immutable(),
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of TeamMember.
func (TeamMember) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "team_id", "user_id").Unique(),
		index.Fields("tenant_id", "user_id"),
	}
}
