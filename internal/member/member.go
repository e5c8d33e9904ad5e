// Package member manages the members of a tenant: their roles, suspension
// and removal. Every change invalidates the member's cached permissions on
// every instance once it commits, and suspension or removal ends their
// sessions in the tenant.
package member

import (
	"context"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/credential"
	"atrium/ent/memberrole"
	"atrium/ent/membership"
	entsession "atrium/ent/session"
	"atrium/ent/teammember"
	"atrium/ent/user"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/session"
	"atrium/internal/viewer"
)

// Audit actions.
const (
	ActionRolesChanged = "member.roles_changed"
	ActionSuspended    = "member.suspended"
	ActionReactivated  = "member.reactivated"
	ActionRemoved      = "member.removed"
)

// Member is a membership with its user, roles and teams.
type Member struct {
	Membership  *ent.Membership
	DisplayName string
	RoleIDs     []uuid.UUID
	TeamIDs     []uuid.UUID
	// CloneWarnings are the member's devices whose signature counter went
	// backwards (see passkey's sign_count_regression).
	CloneWarnings []uuid.UUID
}

// Service manages members.
type Service struct {
	client   *ent.Client
	resolver *authz.Resolver
	sessions *session.Store
	audit    *audit.Writer
}

// New returns the member service.
func New(client *ent.Client, r *authz.Resolver, s *session.Store, w *audit.Writer) *Service {
	return &Service{client: client, resolver: r, sessions: s, audit: w}
}

// List returns the tenant's members, newest first.
func (s *Service) List(ctx context.Context, cursor string, limit int) (page.Page[Member], error) {
	var ms []*ent.Membership
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.Membership, error) {
		q := s.client.Membership.Query().Order(ent.Desc(membership.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(membership.IDLT(after))
		}
		var err error
		ms, err = q.All(ctx)
		return ms, err
	}, func(m *ent.Membership) uuid.UUID { return m.ID })
	if err != nil {
		return page.Page[Member]{}, fault.FromEnt(err, "member")
	}
	out, err := s.describe(ctx, p.Items)
	return page.Page[Member]{Items: out, NextCursor: p.NextCursor}, err
}

func (s *Service) describe(ctx context.Context, ms []*ent.Membership) ([]Member, error) {
	ids := make([]uuid.UUID, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	// Users are global rows: read their names as the system, for members of
	// this tenant only.
	users, err := s.client.User.Query().Where(user.IDIn(ids...)).All(viewer.System(ctx, viewer.ReasonDirectory))
	if err != nil {
		return nil, fault.FromEnt(err, "member")
	}
	names := map[uuid.UUID]string{}
	for _, u := range users {
		names[u.ID] = u.DisplayName
	}
	mrs, err := s.client.MemberRole.Query().Where(memberrole.UserIDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "member")
	}
	tms, err := s.client.TeamMember.Query().Where(teammember.UserIDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "member")
	}
	// Devices are the user's, not the tenant's: read the flagged ones as the
	// system, for members of this tenant only.
	flagged, err := s.client.Credential.Query().Where(credential.UserIDIn(ids...), credential.CloneWarning(true)).
		All(viewer.System(ctx, viewer.ReasonDirectory))
	if err != nil {
		return nil, fault.FromEnt(err, "member")
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = Member{Membership: m, DisplayName: names[m.UserID], RoleIDs: []uuid.UUID{}, TeamIDs: []uuid.UUID{}}
		for _, mr := range mrs {
			if mr.UserID == m.UserID {
				out[i].RoleIDs = append(out[i].RoleIDs, mr.RoleID)
			}
		}
		for _, tm := range tms {
			if tm.UserID == m.UserID {
				out[i].TeamIDs = append(out[i].TeamIDs, tm.TeamID)
			}
		}
		for _, c := range flagged {
			if c.UserID == m.UserID {
				out[i].CloneWarnings = append(out[i].CloneWarnings, c.ID)
			}
		}
	}
	return out, nil
}

// Get returns one member.
func (s *Service) Get(ctx context.Context, userID uuid.UUID) (Member, error) {
	m, err := s.client.Membership.Query().Where(membership.UserID(userID)).Only(ctx)
	if err != nil {
		return Member{}, fault.FromEnt(err, "member")
	}
	out, err := s.describe(ctx, []*ent.Membership{m})
	if err != nil {
		return Member{}, err
	}
	return out[0], nil
}

var errLastAdmin = fault.New(fault.Conflict, "this would leave the tenant without an active member who can manage members")

// admins returns the active members holding a role that grants member.manage.
func admins(ctx context.Context, tx *ent.Tx) (map[uuid.UUID]bool, error) {
	roles, err := tx.Role.Query().All(ctx)
	if err != nil {
		return nil, err
	}
	var managing []uuid.UUID
	for _, r := range roles {
		if authz.NewSet(r.Permissions...).Allows(authz.MemberManage) {
			managing = append(managing, r.ID)
		}
	}
	holders, err := tx.MemberRole.Query().Where(memberrole.RoleIDIn(managing...)).All(ctx)
	if err != nil {
		return nil, err
	}
	active, err := tx.Membership.Query().Where(membership.StatusEQ(membership.StatusActive)).All(ctx)
	if err != nil {
		return nil, err
	}
	isActive := map[uuid.UUID]bool{}
	for _, m := range active {
		isActive[m.UserID] = true
	}
	out := map[uuid.UUID]bool{}
	for _, h := range holders {
		if isActive[h.UserID] {
			out[h.UserID] = true
		}
	}
	return out, nil
}

// keepsAnAdmin fails when, after change, no active admin would remain.
func keepsAnAdmin(ctx context.Context, tx *ent.Tx) error {
	a, err := admins(ctx, tx)
	if err != nil {
		return err
	}
	if len(a) == 0 {
		return errLastAdmin
	}
	return nil
}

// SetRoles replaces a member's roles.
func (s *Service) SetRoles(ctx context.Context, userID uuid.UUID, roleIDs []uuid.UUID) (Member, error) {
	err := s.change(ctx, userID, func(tx *ent.Tx, m *ent.Membership) (audit.Event, error) {
		grants, found, err := authz.Grants(ctx, tx.Role, roleIDs...)
		if err != nil {
			return audit.Event{}, err
		}
		if !found {
			return audit.Event{}, fault.New(fault.NotFound, "role not found")
		}
		// Nobody assigns more than they hold, nor changes the roles of a
		// member who holds more than they do.
		held, err := authz.MemberGrants(ctx, tx.Role, m.TenantID, userID)
		if err != nil {
			return audit.Event{}, err
		}
		if err := authz.RequireGrantable(ctx, "changing the roles of this member", held); err != nil {
			return audit.Event{}, err
		}
		if err := authz.RequireGrantable(ctx, "assigning these roles", grants); err != nil {
			return audit.Event{}, err
		}
		if _, err := tx.MemberRole.Delete().Where(memberrole.UserID(userID)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		for _, r := range dedupe(roleIDs) {
			if err := tx.MemberRole.Create().SetUserID(userID).SetRoleID(r).Exec(ctx); err != nil {
				return audit.Event{}, err
			}
		}
		if err := keepsAnAdmin(ctx, tx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionRolesChanged, ResourceType: "member", ResourceID: userID}, nil
	})
	if err != nil {
		return Member{}, err
	}
	return s.Get(ctx, userID)
}

// SetStatus suspends or reactivates a member. Suspension ends their sessions
// in the tenant.
func (s *Service) SetStatus(ctx context.Context, userID uuid.UUID, status membership.Status) (Member, error) {
	if err := membership.StatusValidator(status); err != nil {
		return Member{}, fault.Fields(fault.FieldError{Field: "status", Message: "active or suspended"})
	}
	err := s.change(ctx, userID, func(tx *ent.Tx, m *ent.Membership) (audit.Event, error) {
		if err := tx.Membership.UpdateOne(m).SetStatus(status).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		action := ActionReactivated
		if status == membership.StatusSuspended {
			action = ActionSuspended
			if err := keepsAnAdmin(ctx, tx); err != nil {
				return audit.Event{}, err
			}
			if _, err := s.sessions.RevokeWhere(ctx, tx, "member_suspended",
				entsession.UserID(userID), entsession.TenantID(m.TenantID)); err != nil {
				return audit.Event{}, err
			}
		}
		return audit.Event{Action: action, ResourceType: "member", ResourceID: userID}, nil
	})
	if err != nil {
		return Member{}, err
	}
	return s.Get(ctx, userID)
}

// Remove removes a member from the tenant: roles, teams and membership go,
// and their sessions in the tenant end.
func (s *Service) Remove(ctx context.Context, userID uuid.UUID) error {
	return s.change(ctx, userID, func(tx *ent.Tx, m *ent.Membership) (audit.Event, error) {
		if _, err := tx.MemberRole.Delete().Where(memberrole.UserID(userID)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if _, err := tx.TeamMember.Delete().Where(teammember.UserID(userID)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if err := tx.Membership.DeleteOne(m).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if err := keepsAnAdmin(ctx, tx); err != nil {
			return audit.Event{}, err
		}
		if _, err := s.sessions.RevokeWhere(ctx, tx, "member_removed",
			entsession.UserID(userID), entsession.TenantID(m.TenantID)); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionRemoved, ResourceType: "member", ResourceID: userID}, nil
	})
}

// change runs fn on the member's membership in a transaction with its audit
// event, and invalidates the member's permissions once it commits.
func (s *Service) change(ctx context.Context, userID uuid.UUID, fn func(*ent.Tx, *ent.Membership) (audit.Event, error)) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		m, err := tx.Membership.Query().Where(membership.UserID(userID)).Only(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		s.resolver.InvalidateOnCommit(ctx, tx, m.TenantID, userID)
		return fn(tx, m)
	})
	return fault.FromEnt(err, "member")
}

func dedupe(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
