package team_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/membership"
	"atrium/ent/share"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/team"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

type env struct {
	t        *testing.T
	client   *ent.Client
	resolver *authz.Resolver
	svc      *team.Service
	tenant   uuid.UUID
	ctx      context.Context // an admin of the tenant, as a request carries one
}

// allowAll stands for the permissions the HTTP layer has already checked.
type allowAll struct{}

func (allowAll) Allows(string) bool { return true }

// as is a request of user in tenant tn.
func as(tn, user uuid.UUID) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: user, TenantID: tn, Perms: allowAll{}})
}

func setup(t *testing.T) *env {
	t.Helper()
	db := testkit.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := authz.NewResolver(db.Client, cache.NewLocalBus(), log)
	t.Cleanup(r.Close)
	tn := tenant(t, db.Client)
	e := &env{t: t, client: db.Client, resolver: r, tenant: tn,
		svc: team.New(db.Client, r, audit.NewWriter(db.Client, db.Dialect, log))}
	e.ctx = as(tn, e.member(tn, membership.StatusActive))
	return e
}

func tenant(t *testing.T, c *ent.Client) uuid.UUID {
	t.Helper()
	tn, err := c.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).Save(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(t, err)
	return tn.ID
}

// member makes a new member of tenant tn with the given status.
func (e *env) member(tn uuid.UUID, status membership.Status) uuid.UUID {
	e.t.Helper()
	u, err := e.client.User.Create().SetDisplayName("U").Save(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(e.t, err)
	ctx := viewer.SystemForTenant(context.Background(), tn, viewer.ReasonTest)
	require.NoError(e.t, e.client.Membership.Create().SetTenantID(tn).SetUserID(u.ID).SetStatus(status).
		SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Exec(ctx))
	require.NoError(e.t, e.client.MemberRole.Create().SetTenantID(tn).SetUserID(u.ID).SetRoleID(authz.RoleMemberID).
		SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Exec(ctx))
	return u.ID
}

func (e *env) teamsOf(u uuid.UUID) []uuid.UUID {
	e.t.Helper()
	set, err := e.resolver.Permissions(e.ctx, e.tenant, u)
	require.NoError(e.t, err)
	return set.Teams()
}

func TestTeam(t *testing.T) {
	t.Parallel()

	t.Run("OKLifecycleAudited", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.member(e.tenant, membership.StatusActive)
		tm, err := e.svc.Create(e.ctx, team.Input{Name: "Ops", Description: "on call"})
		require.NoError(t, err)
		id := tm.Team.ID
		require.Empty(t, tm.MemberIDs)
		name := "Operations"
		tm, err = e.svc.Update(e.ctx, id, team.Update{Name: &name})
		require.NoError(t, err)
		require.Equal(t, "Operations", tm.Team.Name)
		require.Equal(t, "on call", tm.Team.Description, "a nil field stays")
		require.NoError(t, e.svc.AddMember(e.ctx, id, u))
		require.NoError(t, e.svc.AddMember(e.ctx, id, u), "adding twice is idempotent")
		tm, err = e.svc.Get(e.ctx, id)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{u}, tm.MemberIDs)
		require.NoError(t, e.svc.RemoveMember(e.ctx, id, u))
		require.NoError(t, e.svc.Delete(e.ctx, id))
		_, err = e.svc.Get(e.ctx, id)
		testkit.RequireCode(t, err, fault.NotFound)
		require.Equal(t, []string{team.ActionCreated, team.ActionUpdated, team.ActionMemberAdded, team.ActionMemberAdded,
			team.ActionMemberRemoved, team.ActionDeleted}, testkit.AuditActions(t, e.client, id))
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		for _, in := range []team.Input{{Name: ""}, {Name: strings.Repeat("x", 101)}, {Name: "ok", Description: strings.Repeat("d", 1001)}} {
			_, err := e.svc.Create(e.ctx, in)
			testkit.RequireCode(t, err, fault.Invalid)
		}
		tm, err := e.svc.Create(e.ctx, team.Input{Name: strings.Repeat("é", 100)})
		require.NoError(t, err, "100 characters, not bytes")
		empty := ""
		_, err = e.svc.Update(e.ctx, tm.Team.ID, team.Update{Name: &empty})
		testkit.RequireCode(t, err, fault.Invalid)
		got, err := e.svc.Get(e.ctx, tm.Team.ID)
		require.NoError(t, err)
		require.Equal(t, strings.Repeat("é", 100), got.Team.Name, "a refused update changed nothing")
	})

	t.Run("ErrMemberOfAnotherTenant", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		other := e.member(tenant(t, e.client), membership.StatusActive)
		tm, err := e.svc.Create(e.ctx, team.Input{Name: "A"})
		require.NoError(t, err)
		testkit.RequireCode(t, e.svc.AddMember(e.ctx, tm.Team.ID, other), fault.NotFound)
		testkit.RequireCode(t, e.svc.AddMember(e.ctx, tm.Team.ID, uuid.New()), fault.NotFound)
		got, err := e.svc.Get(e.ctx, tm.Team.ID)
		require.NoError(t, err)
		require.Empty(t, got.MemberIDs)
	})

	t.Run("ErrSuspendedMember", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		s := e.member(e.tenant, membership.StatusSuspended)
		tm, err := e.svc.Create(e.ctx, team.Input{Name: "A"})
		require.NoError(t, err)
		testkit.RequireCode(t, e.svc.AddMember(e.ctx, tm.Team.ID, s), fault.NotFound)
	})

	t.Run("ErrTeamOfAnotherTenant", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		otherTenant := tenant(t, e.client)
		otherCtx := as(otherTenant, e.member(otherTenant, membership.StatusActive))
		theirs, err := e.svc.Create(otherCtx, team.Input{Name: "Theirs"})
		require.NoError(t, err)
		u := e.member(e.tenant, membership.StatusActive)
		_, err = e.svc.Get(e.ctx, theirs.Team.ID)
		testkit.RequireCode(t, err, fault.NotFound)
		testkit.RequireCode(t, e.svc.AddMember(e.ctx, theirs.Team.ID, u), fault.NotFound)
		testkit.RequireCode(t, e.svc.Delete(e.ctx, theirs.Team.ID), fault.NotFound)
		name := "Mine now"
		_, err = e.svc.Update(e.ctx, theirs.Team.ID, team.Update{Name: &name})
		testkit.RequireCode(t, err, fault.NotFound)
		list, err := e.svc.List(e.ctx, "", 50)
		require.NoError(t, err)
		require.Empty(t, list.Items)
		got, err := e.svc.Get(otherCtx, theirs.Team.ID)
		require.NoError(t, err)
		require.Equal(t, "Theirs", got.Team.Name)
	})

	t.Run("ErrRemoveNonMember", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.member(e.tenant, membership.StatusActive)
		tm, err := e.svc.Create(e.ctx, team.Input{Name: "A"})
		require.NoError(t, err)
		testkit.RequireCode(t, e.svc.RemoveMember(e.ctx, tm.Team.ID, u), fault.NotFound)
	})

	t.Run("OKMembershipReachesPermissions", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.member(e.tenant, membership.StatusActive)
		tm, err := e.svc.Create(e.ctx, team.Input{Name: "A"})
		require.NoError(t, err)
		require.Empty(t, e.teamsOf(u), "cached before the change")
		require.NoError(t, e.svc.AddMember(e.ctx, tm.Team.ID, u))
		require.Equal(t, []uuid.UUID{tm.Team.ID}, e.teamsOf(u), "adding invalidated the cached teams")
		require.NoError(t, e.svc.RemoveMember(e.ctx, tm.Team.ID, u))
		require.Empty(t, e.teamsOf(u), "removing invalidated the cached teams")
		require.NoError(t, e.svc.AddMember(e.ctx, tm.Team.ID, u))
		require.NotEmpty(t, e.teamsOf(u))
		require.NoError(t, e.svc.Delete(e.ctx, tm.Team.ID))
		require.Empty(t, e.teamsOf(u), "deleting invalidated the cached teams")
	})

	t.Run("OKDeleteRemovesShares", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.member(e.tenant, membership.StatusActive)
		tm, err := e.svc.Create(e.ctx, team.Input{Name: "A"})
		require.NoError(t, err)
		conv, err := e.client.Conversation.Create().SetTitle("c").SetCreatedBy(u).SetUpdatedBy(u).Save(e.ctx)
		require.NoError(t, err)
		require.NoError(t, e.client.Share.Create().SetResourceType(share.ResourceTypeConversation).SetResourceID(conv.ID).
			SetSubjectType(share.SubjectTypeTeam).SetSubjectID(tm.Team.ID).SetLevel(share.LevelViewer).
			SetCreatedBy(u).SetUpdatedBy(u).Exec(e.ctx))
		require.NoError(t, e.svc.Delete(e.ctx, tm.Team.ID))
		n, err := e.client.Share.Query().Where(share.SubjectID(tm.Team.ID)).Count(e.ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a deleted team's shares outlived it")
	})
}
