package member_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/membership"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/member"
	"atrium/internal/session"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

type env struct {
	t      *testing.T
	client *ent.Client
	svc    *member.Service
	tenant uuid.UUID
	ctx    context.Context // the tenant, as the system (permissions are the HTTP layer's)
}

func setup(t *testing.T) *env {
	t.Helper()
	db := testkit.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := cache.NewLocalBus()
	r := authz.NewResolver(db.Client, bus, log)
	t.Cleanup(r.Close)
	s := session.NewStore(db.Client, bus, log, session.DefaultLifetimes)
	sys := viewer.System(context.Background(), viewer.ReasonTest)
	tn, err := db.Client.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).Save(sys)
	require.NoError(t, err)
	return &env{t: t, client: db.Client, tenant: tn.ID,
		svc: member.New(db.Client, r, s, audit.NewWriter(db.Client, db.Dialect, log)),
		ctx: viewer.SystemForTenant(context.Background(), tn.ID, viewer.ReasonTest)}
}

// add makes a new active member holding roles.
func (e *env) add(roles ...uuid.UUID) uuid.UUID {
	e.t.Helper()
	u, err := e.client.User.Create().SetDisplayName("U").Save(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(e.t, err)
	require.NoError(e.t, e.client.Membership.Create().SetTenantID(e.tenant).SetUserID(u.ID).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Exec(e.ctx))
	for _, r := range roles {
		require.NoError(e.t, e.client.MemberRole.Create().SetTenantID(e.tenant).SetUserID(u.ID).SetRoleID(r).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Exec(e.ctx))
	}
	return u.ID
}

func TestLastAdmin(t *testing.T) {
	t.Parallel()
	t.Run("ErrSuspendLastAdmin", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		admin := e.add(authz.RoleAdminID)
		_, err := e.svc.SetStatus(e.ctx, admin, membership.StatusSuspended)
		testkit.RequireCode(t, err, fault.Conflict)
		m, err := e.svc.Get(e.ctx, admin)
		require.NoError(t, err)
		require.Equal(t, membership.StatusActive, m.Membership.Status)
	})
	t.Run("ErrRemoveLastAdmin", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		admin := e.add(authz.RoleAdminID)
		e.add(authz.RoleMemberID)
		testkit.RequireCode(t, e.svc.Remove(e.ctx, admin), fault.Conflict)
		_, err := e.svc.Get(e.ctx, admin)
		require.NoError(t, err, "the refused removal left the member in place")
	})
	t.Run("ErrDemoteLastAdmin", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		admin := e.add(authz.RoleAdminID)
		_, err := e.svc.SetRoles(e.ctx, admin, []uuid.UUID{authz.RoleMemberID})
		testkit.RequireCode(t, err, fault.Conflict)
		m, err := e.svc.Get(e.ctx, admin)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{authz.RoleAdminID}, m.RoleIDs)
	})
	t.Run("ErrSuspendedAdminDoesNotCount", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		a, b := e.add(authz.RoleAdminID), e.add(authz.RoleAdminID)
		_, err := e.svc.SetStatus(e.ctx, b, membership.StatusSuspended)
		require.NoError(t, err)
		testkit.RequireCode(t, e.svc.Remove(e.ctx, a), fault.Conflict)
	})
	t.Run("OKAnotherAdminRemains", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		a, b := e.add(authz.RoleAdminID), e.add(authz.RoleAdminID)
		m, err := e.svc.SetStatus(e.ctx, a, membership.StatusSuspended)
		require.NoError(t, err)
		require.Equal(t, membership.StatusSuspended, m.Membership.Status)
		m, err = e.svc.SetStatus(e.ctx, a, membership.StatusActive)
		require.NoError(t, err)
		require.Equal(t, membership.StatusActive, m.Membership.Status)
		require.NoError(t, e.svc.Remove(e.ctx, b))
		_, err = e.svc.Get(e.ctx, b)
		testkit.RequireCode(t, err, fault.NotFound)
	})
}

func TestSetStatus(t *testing.T) {
	t.Parallel()
	t.Run("ErrInvalidStatus", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.add(authz.RoleMemberID)
		_, err := e.svc.SetStatus(e.ctx, u, membership.Status("deleted"))
		testkit.RequireCode(t, err, fault.Invalid)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		e.add(authz.RoleAdminID)
		_, err := e.svc.SetStatus(e.ctx, uuid.New(), membership.StatusSuspended)
		testkit.RequireCode(t, err, fault.NotFound)
	})
}
