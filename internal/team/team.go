// Package team manages the teams of a tenant. Resources shared with a team
// are visible to its members; adding or removing a member invalidates that
// member's cached permissions and teams on every instance once it commits.
package team

import (
	"context"
	"unicode/utf8"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/membership"
	"atrium/ent/share"
	entteam "atrium/ent/team"
	"atrium/ent/teammember"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
)

// Audit actions.
const (
	ActionCreated       = "team.created"
	ActionUpdated       = "team.updated"
	ActionDeleted       = "team.deleted"
	ActionMemberAdded   = "team.member_added"
	ActionMemberRemoved = "team.member_removed"
)

// Team is a team and its members.
type Team struct {
	Team      *ent.Team
	MemberIDs []uuid.UUID
}

// Input creates a team.
type Input struct {
	Name        string
	Description string
}

// Update changes a team; nil fields stay.
type Update struct {
	Name        *string
	Description *string
}

func check(name, desc *string) error {
	var fs []fault.FieldError
	if name != nil && (*name == "" || utf8.RuneCountInString(*name) > 100) {
		fs = append(fs, fault.FieldError{Field: "name", Message: "1 to 100 characters"})
	}
	if desc != nil && utf8.RuneCountInString(*desc) > 1000 {
		fs = append(fs, fault.FieldError{Field: "description", Message: "at most 1000 characters"})
	}
	return fault.Fields(fs...)
}

// Service manages teams.
type Service struct {
	client   *ent.Client
	resolver *authz.Resolver
	audit    *audit.Writer
}

// New returns the team service.
func New(client *ent.Client, r *authz.Resolver, w *audit.Writer) *Service {
	return &Service{client: client, resolver: r, audit: w}
}

// List returns the tenant's teams, newest first.
func (s *Service) List(ctx context.Context, cursor string, limit int) (page.Page[Team], error) {
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.Team, error) {
		q := s.client.Team.Query().WithMembers().Order(ent.Desc(entteam.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(entteam.IDLT(after))
		}
		return q.All(ctx)
	}, func(t *ent.Team) uuid.UUID { return t.ID })
	if err != nil {
		return page.Page[Team]{}, fault.FromEnt(err, "team")
	}
	out := page.Page[Team]{NextCursor: p.NextCursor, Items: make([]Team, 0, len(p.Items))}
	for _, t := range p.Items {
		out.Items = append(out.Items, describe(t))
	}
	return out, nil
}

func describe(t *ent.Team) Team {
	ids := make([]uuid.UUID, 0, len(t.Edges.Members))
	for _, m := range t.Edges.Members {
		ids = append(ids, m.UserID)
	}
	return Team{Team: t, MemberIDs: ids}
}

// Get returns one team with its members.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Team, error) {
	t, err := s.client.Team.Query().Where(entteam.ID(id)).WithMembers().Only(ctx)
	if err != nil {
		return Team{}, fault.FromEnt(err, "team")
	}
	return describe(t), nil
}

// Create creates a team.
func (s *Service) Create(ctx context.Context, in Input) (Team, error) {
	if err := check(&in.Name, &in.Description); err != nil {
		return Team{}, err
	}
	var t *ent.Team
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		if t, err = tx.Team.Create().SetName(in.Name).SetDescription(in.Description).Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionCreated, ResourceType: "team", ResourceID: t.ID}, nil
	})
	if err != nil {
		return Team{}, fault.FromEnt(err, "team")
	}
	return Team{Team: t, MemberIDs: []uuid.UUID{}}, nil
}

// Update changes a team.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Update) (Team, error) {
	if err := check(in.Name, in.Description); err != nil {
		return Team{}, err
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		u := tx.Team.UpdateOneID(id)
		if in.Name != nil {
			u.SetName(*in.Name)
		}
		if in.Description != nil {
			u.SetDescription(*in.Description)
		}
		if err := u.Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionUpdated, ResourceType: "team", ResourceID: id}, nil
	})
	if err != nil {
		return Team{}, fault.FromEnt(err, "team")
	}
	return s.Get(ctx, id)
}

// Delete deletes a team, its memberships and the shares made to it.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		t, err := tx.Team.Query().Where(entteam.ID(id)).WithMembers().Only(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		for _, m := range t.Edges.Members {
			s.resolver.InvalidateOnCommit(ctx, tx, t.TenantID, m.UserID)
		}
		if _, err := tx.TeamMember.Delete().Where(teammember.TeamID(id)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if _, err := tx.Share.Delete().Where(share.SubjectTypeEQ(share.SubjectTypeTeam), share.SubjectID(id)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		// The tenant's cached shares may name the team.
		s.resolver.InvalidateResourceOnCommit(ctx, tx, t.TenantID, "", uuid.Nil)
		if err := tx.Team.DeleteOne(t).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionDeleted, ResourceType: "team", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "team")
}

// AddMember adds an active member of the tenant to a team (idempotent).
func (s *Service) AddMember(ctx context.Context, id, userID uuid.UUID) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		t, err := tx.Team.Get(ctx, id)
		if err != nil {
			return audit.Event{}, err
		}
		ok, err := tx.Membership.Query().Where(membership.UserID(userID), membership.StatusEQ(membership.StatusActive)).Exist(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		if !ok {
			return audit.Event{}, fault.New(fault.NotFound, "no active member with this id")
		}
		exists, err := tx.TeamMember.Query().Where(teammember.TeamID(id), teammember.UserID(userID)).Exist(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		if !exists {
			if err := tx.TeamMember.Create().SetTeamID(id).SetUserID(userID).Exec(ctx); err != nil {
				return audit.Event{}, err
			}
		}
		s.resolver.InvalidateOnCommit(ctx, tx, t.TenantID, userID)
		return audit.Event{Action: ActionMemberAdded, ResourceType: "team", ResourceID: id,
			Details: map[string]string{"user_id": userID.String()}}, nil
	})
	return fault.FromEnt(err, "team")
}

// RemoveMember removes a member from a team; resources shared with the team
// stop being visible to them on their next request.
func (s *Service) RemoveMember(ctx context.Context, id, userID uuid.UUID) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		t, err := tx.Team.Get(ctx, id)
		if err != nil {
			return audit.Event{}, err
		}
		n, err := tx.TeamMember.Delete().Where(teammember.TeamID(id), teammember.UserID(userID)).Exec(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		if n == 0 {
			return audit.Event{}, fault.New(fault.NotFound, "not a member of this team")
		}
		s.resolver.InvalidateOnCommit(ctx, tx, t.TenantID, userID)
		return audit.Event{Action: ActionMemberRemoved, ResourceType: "team", ResourceID: id,
			Details: map[string]string{"user_id": userID.String()}}, nil
	})
	return fault.FromEnt(err, "team")
}
