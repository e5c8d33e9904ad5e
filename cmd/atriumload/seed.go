package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"atrium/gen/api"
)

// User is a seeded user with their passkey and first session.
type User struct {
	Tenant, Index int
	ID, TenantID  uuid.UUID
	Device        *Device
	Refresh       string // refresh token of the enrollment session
	Bearer        *Bearer
	Client        *api.Client
}

// TenantData is one seeded tenant.
type TenantData struct {
	ID    uuid.UUID
	Users []*User
	Teams []uuid.UUID
	Convs []Conv
}

// World is everything seeded, laid out as Layout says.
type World struct {
	Layout  Layout
	Tenants []*TenantData
	// Spread gives the scenarios' workers users of every tenant in turn
	// (-spread-tenants). By default they take users in tenant order, so
	// with fewer workers than users per tenant every worker is in the
	// first tenant: one tenant's load, the demanding case for what a
	// tenant serializes (its audit chain).
	Spread bool
}

// Convs returns every tenant's conversations, indexed by tenant.
func (w *World) Convs() [][]Conv {
	out := make([][]Conv, len(w.Tenants))
	for i, t := range w.Tenants {
		out[i] = t.Convs
	}
	return out
}

// Users returns every user of every tenant.
func (w *World) Users() []*User {
	var out []*User
	for _, t := range w.Tenants {
		out = append(out, t.Users...)
	}
	return out
}

// workerUsers is the order in which workers take users: Users, or with
// Spread the first user of each tenant, then the second of each, and so on.
func (w *World) workerUsers() []*User {
	if !w.Spread {
		return w.Users()
	}
	var out []*User
	for i := 0; ; i++ {
		n := len(out)
		for _, t := range w.Tenants {
			if i < len(t.Users) {
				out = append(out, t.Users[i])
			}
		}
		if len(out) == n {
			return out
		}
	}
}

var invitationRE = regexp.MustCompile(`invitation=([A-Za-z0-9_\-.~%]+)`)

// invitationToken accepts a bare token or an enrollment link.
func invitationToken(s string) string {
	s = strings.TrimSpace(s)
	if m := invitationRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

// tenantCreate runs `atrium tenant create` with this process's environment
// (the same ATRIUM_* as the server) and returns the first admin's
// invitation token.
func tenantCreate(ctx context.Context, bin, name, slug string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "tenant", "create", "--name", name, "--slug", slug)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s tenant create: %w\n%s", bin, err, out)
	}
	m := invitationRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s tenant create: no enrollment link in its output", bin)
	}
	return string(m[1]), nil
}

// Seed builds one tenant per invitation, through the API only: the first
// admin enrolls from the invitation, invites and enrolls the members,
// creates the teams; each owner creates their conversations and shares.
func Seed(ctx context.Context, t *Target, l Layout, invitations []string, par int, logf func(string, ...any)) (*World, error) {
	w := &World{Layout: l}
	for ti, inv := range invitations {
		td, err := seedTenant(ctx, t, l, ti, invitationToken(inv), par)
		if err != nil {
			return nil, fmt.Errorf("tenant %d: %w", ti, err)
		}
		w.Tenants = append(w.Tenants, td)
		logf("seeded tenant %d (%s): %d users, %d teams, %d conversations", ti, td.ID, len(td.Users), len(td.Teams), len(td.Convs))
	}
	return w, nil
}

func (t *Target) newUser(ctx context.Context, tenant, index int, invitation string) (*User, error) {
	u := &User{Tenant: tenant, Index: index, Device: NewDevice(), Bearer: &Bearer{}}
	tok, err := t.Enroll(ctx, u.Device, invitation, fmt.Sprintf("Load user %d.%d", tenant, index))
	if err != nil {
		return nil, err
	}
	u.ID, u.TenantID, u.Refresh = tok.UserID, tok.TenantID, tok.RefreshToken
	u.Bearer.Set(tok.AccessToken)
	u.Client, err = t.Client(u.Bearer)
	return u, err
}

func seedTenant(ctx context.Context, t *Target, l Layout, ti int, invitation string, par int) (*TenantData, error) {
	admin, err := t.newUser(ctx, ti, 0, invitation)
	if err != nil {
		return nil, fmt.Errorf("enroll the first admin: %w", err)
	}
	td := &TenantData{Users: make([]*User, l.Users), Teams: make([]uuid.UUID, l.Teams), Convs: l.Convs(ti)}
	td.Users[0] = admin
	td.ID = admin.TenantID
	err = parallel(l.Users-1, par, func(i int) error {
		inv, err := admin.Client.CreateInvitation(ctx, &api.InvitationCreate{})
		if err != nil {
			return fmt.Errorf("invite: %w", err)
		}
		td.Users[i+1], err = t.newUser(ctx, ti, i+1, inv.Token)
		if err != nil {
			return fmt.Errorf("enroll user %d: %w", i+1, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = parallel(l.Teams, par, func(k int) error {
		team, err := admin.Client.CreateTeam(ctx, &api.TeamCreate{Name: fmt.Sprintf("Load team %d", k)})
		if err != nil {
			return fmt.Errorf("team: %w", err)
		}
		td.Teams[k] = team.ID
		for u := 1; u < l.Users; u++ {
			if l.TeamOf(u) != k {
				continue
			}
			if err := admin.Client.AddTeamMember(ctx, api.AddTeamMemberParams{TeamId: team.ID, UserId: td.Users[u].ID}); err != nil {
				return fmt.Errorf("team member: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = parallel(len(td.Convs), par, func(j int) error {
		c := &td.Convs[j]
		owner := td.Users[c.Owner].Client
		conv, err := owner.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString(fmt.Sprintf("Load %d.%d", ti, j))})
		if err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
		c.ID = conv.ID
		p := api.ShareConversationParams{ConversationId: conv.ID}
		if c.UserShare >= 0 {
			if _, err := owner.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser,
				SubjectID: td.Users[c.UserShare].ID, Level: api.ShareLevelViewer}, p); err != nil {
				return fmt.Errorf("share with a user: %w", err)
			}
		}
		if c.TeamShare >= 0 {
			if _, err := owner.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeTeam,
				SubjectID: td.Teams[c.TeamShare], Level: api.ShareLevelEditor}, p); err != nil {
				return fmt.Errorf("share with a team: %w", err)
			}
		}
		return nil
	})
	return td, err
}
