package account_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/membership"
	entsession "atrium/ent/session"
	"atrium/ent/user"
	"atrium/internal/account"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/session"
	"atrium/internal/testkit"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

// The session and cache goroutines must stop with the tests.
func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

var life = session.Lifetimes{Idle: time.Hour, Absolute: 24 * time.Hour}

type env struct {
	t        *testing.T
	client   *ent.Client
	clock    *testkit.Clock
	tokens   *token.Service
	sessions *session.Store
	svc      *account.Service
	tenant   uuid.UUID
}

func setup(t *testing.T) *env {
	t.Helper()
	db := testkit.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := testkit.NewClock(time.Now())
	opts := token.Options{Issuer: "https://atrium.test", Audience: "atrium", Algorithm: token.ES256}.WithClock(clk.Now)
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	ring, err := token.NewKeyRing(token.NewEntStore(db.Client), kek, opts)
	require.NoError(t, err)
	require.NoError(t, ring.EnsureActive(context.Background()))
	tokens, err := token.New(ring, opts)
	require.NoError(t, err)
	t.Cleanup(tokens.Close)
	bus := cache.NewLocalBus()
	sessions := session.NewStore(db.Client, bus, log, life, session.WithClock(clk.Now))
	t.Cleanup(sessions.Close)
	az := authz.NewResolver(db.Client, bus, log, authz.WithClock(clk.Now))
	t.Cleanup(az.Close)
	svc := account.New(db.Client, tokens, sessions, az, audit.NewWriter(db.Client, db.Dialect, log), log, life)
	svc.SetClock(clk.Now)
	e := &env{t: t, client: db.Client, clock: clk, tokens: tokens, sessions: sessions, svc: svc}
	e.tenant = e.newTenant()
	return e
}

func sys() context.Context { return viewer.System(context.Background(), viewer.ReasonTest) }

func (e *env) newTenant() uuid.UUID {
	e.t.Helper()
	tn, err := e.client.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).Save(sys())
	require.NoError(e.t, err)
	return tn.ID
}

// user makes a new user, an active member of tenants.
func (e *env) user(tenants ...uuid.UUID) uuid.UUID {
	e.t.Helper()
	u, err := e.client.User.Create().SetDisplayName("U").Save(sys())
	require.NoError(e.t, err)
	for _, tn := range tenants {
		e.join(u.ID, tn, membership.StatusActive)
	}
	return u.ID
}

func (e *env) join(u, tn uuid.UUID, status membership.Status) {
	e.t.Helper()
	ctx := viewer.SystemForTenant(context.Background(), tn, viewer.ReasonTest)
	require.NoError(e.t, e.client.Membership.Create().SetTenantID(tn).SetUserID(u).SetStatus(status).
		SetCreatedBy(u).SetUpdatedBy(u).Exec(ctx))
	require.NoError(e.t, e.client.MemberRole.Create().SetTenantID(tn).SetUserID(u).SetRoleID(authz.RoleMemberID).
		SetCreatedBy(u).SetUpdatedBy(u).Exec(ctx))
}

func (e *env) device(u uuid.UUID) uuid.UUID {
	e.t.Helper()
	c, err := e.client.Credential.Create().SetUserID(u).SetCredentialID([]byte(uuid.NewString())).
		SetPublicKey([]byte{1, 2, 3}).SetName("phone").Save(sys())
	require.NoError(e.t, err)
	return c.ID
}

// open signs user u in to tenant tn (with device cred, if not nil), as a
// passkey sign-in does.
func (e *env) open(u, tn uuid.UUID, cred *uuid.UUID) *account.Tokens {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.client.Tx(ctx)
	require.NoError(e.t, err)
	toks, err := e.svc.Open(ctx, tx, account.OpenInput{UserID: u, TenantID: tn, CredentialID: cred, AMR: []string{"hwk"}})
	require.NoError(e.t, err)
	require.NoError(e.t, tx.Commit())
	require.NoError(e.t, e.svc.Sign(ctx, toks), "the access token is signed after the commit")
	return toks
}

// as is the request that access token of toks authenticates.
func (e *env) as(toks *account.Tokens) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: toks.UserID, TenantID: toks.TenantID,
		SessionID: toks.SessionID, Perms: authz.NewSet()})
}

// active reports whether the access token of toks would still be accepted.
func (e *env) active(toks *account.Tokens) bool {
	e.t.Helper()
	c, err := e.tokens.Verify(context.Background(), toks.Access)
	require.NoError(e.t, err)
	return e.sessions.Check(context.Background(), c.SessionID, c.Subject, c.TenantID) == nil
}

func (e *env) actions(resource uuid.UUID) []string {
	e.t.Helper()
	return testkit.AuditActions(e.t, e.client, resource)
}

func TestRefresh(t *testing.T) {
	t.Parallel()

	t.Run("OKRotates", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user(e.tenant)
		first := e.open(u, e.tenant, nil)
		second, err := e.svc.Refresh(context.Background(), first.Refresh)
		require.NoError(t, err)
		require.NotEqual(t, first.Refresh, second.Refresh)
		require.Equal(t, first.SessionID, second.SessionID, "the same session goes on")
		require.Equal(t, e.tenant, second.TenantID)
		require.True(t, e.active(second))
		third, err := e.svc.Refresh(context.Background(), second.Refresh)
		require.NoError(t, err)
		require.True(t, e.active(third))
		require.Equal(t, []string{account.ActionRefresh, account.ActionRefresh}, e.actions(first.SessionID))
	})

	// A spent refresh token presented again was stolen or replayed: the
	// whole session ends, for the thief and the owner alike.
	t.Run("ErrReuseEndsSession", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user(e.tenant)
		first := e.open(u, e.tenant, nil)
		second, err := e.svc.Refresh(context.Background(), first.Refresh)
		require.NoError(t, err)
		_, err = e.svc.Refresh(context.Background(), first.Refresh)
		testkit.RequireCode(t, err, fault.Unauthenticated)
		_, err = e.svc.Refresh(context.Background(), second.Refresh)
		testkit.RequireCode(t, err, fault.Unauthenticated)
		require.False(t, e.active(second), "the session ended")
		require.Equal(t, []string{account.ActionRefresh, account.ActionReuseDetected}, e.actions(first.SessionID))
	})

	t.Run("ErrNotARefreshToken", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		toks := e.open(e.user(e.tenant), e.tenant, nil)
		for _, raw := range []string{"", "x", strings.Repeat("a", 201), toks.Access, toks.Refresh + "x"} {
			_, err := e.svc.Refresh(context.Background(), raw)
			testkit.RequireCode(t, err, fault.Unauthenticated)
		}
		require.True(t, e.active(toks), "guessing does not end the session")
	})

	t.Run("ErrSessionExpired", func(t *testing.T) {
		t.Parallel()
		for name, wait := range map[string]time.Duration{"idle": life.Idle, "absolute": life.Absolute} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := setup(t)
				u := e.user(e.tenant)
				toks := e.open(u, e.tenant, nil)
				end := e.clock.Now().Add(wait - time.Second)
				step := wait
				if name == "absolute" {
					step = life.Idle / 2 // use keeps it from idling out, not past its lifetime
				}
				for e.clock.Now().Before(end) {
					require.NoError(t, e.sessions.Check(context.Background(), toks.SessionID, u, e.tenant))
					e.clock.Advance(min(step, end.Sub(e.clock.Now())))
				}
				next, err := e.svc.Refresh(context.Background(), toks.Refresh)
				require.NoError(t, err, "a second before the end")
				e.clock.Advance(time.Second)
				_, err = e.svc.Refresh(context.Background(), next.Refresh)
				testkit.RequireCode(t, err, fault.Unauthenticated)
				ss, err := e.svc.Sessions(e.as(toks))
				require.NoError(t, err)
				require.Empty(t, ss, "an ended session is not listed")
			})
		}
	})

	t.Run("ErrNoLongerMember", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user()
		e.join(u, e.tenant, membership.StatusSuspended)
		toks := e.open(u, e.tenant, nil)
		_, err := e.svc.Refresh(context.Background(), toks.Refresh)
		testkit.RequireCode(t, err, fault.Unauthenticated)
	})

	t.Run("ErrAfterLogout", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		toks := e.open(e.user(e.tenant), e.tenant, nil)
		require.NoError(t, e.svc.Logout(e.as(toks)))
		require.False(t, e.active(toks))
		_, err := e.svc.Refresh(context.Background(), toks.Refresh)
		testkit.RequireCode(t, err, fault.Unauthenticated)
		require.Equal(t, []string{account.ActionLogout}, e.actions(toks.SessionID))
	})
}

// TestOpenLastTenant: a sign-in remembers its tenant as the user's last, and
// does not write it again when the caller read that it is already.
func TestOpenLastTenant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	other := e.newTenant()
	u := e.user(e.tenant, other)
	open := func(tn uuid.UUID, last *uuid.UUID) {
		t.Helper()
		ctx := context.Background()
		tx, err := e.client.Tx(ctx)
		require.NoError(t, err)
		_, err = e.svc.Open(ctx, tx, account.OpenInput{UserID: u, TenantID: tn, AMR: []string{"hwk"}, LastTenantID: last})
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
	}
	get := func() *ent.User {
		t.Helper()
		usr, err := e.client.User.Get(sys(), u)
		require.NoError(t, err)
		return usr
	}
	open(e.tenant, nil)
	require.Equal(t, e.tenant, *get().LastTenantID)
	open(other, &e.tenant)
	require.Equal(t, other, *get().LastTenantID)

	// Unchanged: no write (updated_at keeps a value no write would give).
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, e.client.User.UpdateOneID(u).SetUpdatedAt(old).Exec(sys()))
	open(other, &other)
	usr := get()
	require.Equal(t, other, *usr.LastTenantID)
	require.True(t, old.Equal(usr.UpdatedAt), "written again: %v", usr.UpdatedAt)
}

func TestExchange(t *testing.T) {
	t.Parallel()

	t.Run("OKMovesTheSession", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		other := e.newTenant()
		u := e.user(e.tenant, other)
		old := e.open(u, e.tenant, nil)
		moved, err := e.svc.Exchange(context.Background(), old.Access, other)
		require.NoError(t, err)
		require.Equal(t, other, moved.TenantID)
		require.Equal(t, old.SessionID, moved.SessionID)
		require.True(t, e.active(moved))
		require.False(t, e.active(old), "the old tenant's access token stops working")
		next, err := e.svc.Refresh(context.Background(), moved.Refresh)
		require.NoError(t, err)
		require.Equal(t, other, next.TenantID)
		usr, err := e.client.User.Get(sys(), u)
		require.NoError(t, err)
		require.Equal(t, other, *usr.LastTenantID)
		require.Contains(t, e.actions(other), account.ActionExchange)

		// The old refresh token was spent by the exchange: presented
		// again, it is a replay (docs/authentication.md).
		_, err = e.svc.Refresh(context.Background(), old.Refresh)
		testkit.RequireCode(t, err, fault.Unauthenticated)
		require.False(t, e.active(next))
	})

	t.Run("ErrNotAMember", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		stranger, suspended := e.newTenant(), e.newTenant()
		u := e.user(e.tenant)
		e.join(u, suspended, membership.StatusSuspended)
		toks := e.open(u, e.tenant, nil)
		for _, tn := range []uuid.UUID{stranger, suspended, uuid.New()} {
			_, err := e.svc.Exchange(context.Background(), toks.Access, tn)
			testkit.RequireCode(t, err, fault.Forbidden)
			require.Equal(t, []string{account.ActionExchange}, e.actions(tn), "the refusal is audited")
		}
		require.True(t, e.active(toks), "the session stays where it was")
		_, err := e.svc.Refresh(context.Background(), toks.Refresh)
		require.NoError(t, err)
	})

	t.Run("ErrSubjectToken", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		other := e.newTenant()
		u := e.user(e.tenant, other)
		toks := e.open(u, e.tenant, nil)
		for _, tok := range []string{"", "garbage", toks.Refresh, toks.Access + "x"} {
			_, err := e.svc.Exchange(context.Background(), tok, other)
			testkit.RequireCode(t, err, fault.Unauthenticated)
		}
		require.NoError(t, e.svc.Logout(e.as(toks)))
		_, err := e.svc.Exchange(context.Background(), toks.Access, other)
		testkit.RequireCode(t, err, fault.Unauthenticated)
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()

	t.Run("OKOwnOnly", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u, v := e.user(e.tenant), e.user(e.tenant)
		a, b := e.open(u, e.tenant, nil), e.open(u, e.tenant, nil)
		theirs := e.open(v, e.tenant, nil)
		ss, err := e.svc.Sessions(e.as(a))
		require.NoError(t, err)
		require.Len(t, ss, 2)
		require.Equal(t, b.SessionID, ss[0].ID, "newest first")

		testkit.RequireCode(t, e.svc.RevokeSession(e.as(a), theirs.SessionID), fault.NotFound)
		require.True(t, e.active(theirs))
		require.NoError(t, e.svc.RevokeSession(e.as(a), b.SessionID))
		require.False(t, e.active(b))
		require.True(t, e.active(a))
		require.Equal(t, []string{account.ActionSessionRevoked}, e.actions(b.SessionID))
	})

	t.Run("OKTenantsActiveOnly", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		other, suspended := e.newTenant(), e.newTenant()
		e.newTenant()
		u := e.user(e.tenant, other)
		e.join(u, suspended, membership.StatusSuspended)
		ts, err := e.svc.Tenants(e.as(e.open(u, e.tenant, nil)))
		require.NoError(t, err)
		got := map[uuid.UUID]bool{}
		for _, tn := range ts {
			got[tn.Tenant.ID] = tn.Active
		}
		require.Equal(t, map[uuid.UUID]bool{e.tenant: true, other: false}, got)
	})
}

func TestDevices(t *testing.T) {
	t.Parallel()

	t.Run("ErrRename", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user(e.tenant)
		d := e.device(u)
		ctx := e.as(e.open(u, e.tenant, &d))
		for _, name := range []string{"", strings.Repeat("n", 101)} {
			_, err := e.svc.RenameDevice(ctx, d, name)
			testkit.RequireField(t, err, "name")
		}
		theirs := e.device(e.user(e.tenant))
		_, err := e.svc.RenameDevice(ctx, theirs, "mine")
		testkit.RequireCode(t, err, fault.NotFound)
		c, err := e.svc.RenameDevice(ctx, d, strings.Repeat("é", 100))
		require.NoError(t, err, "100 characters, not bytes")
		require.Equal(t, strings.Repeat("é", 100), c.Name)
		require.Equal(t, []string{account.ActionDeviceRenamed}, e.actions(d))
		other, err := e.client.Credential.Get(sys(), theirs)
		require.NoError(t, err)
		require.Equal(t, "phone", other.Name)
	})

	t.Run("OKRemoveEndsItsSessions", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user(e.tenant)
		phone, laptop := e.device(u), e.device(u)
		onPhone, onLaptop := e.open(u, e.tenant, &phone), e.open(u, e.tenant, &laptop)
		testkit.RequireCode(t, e.svc.RemoveDevice(e.as(onLaptop), e.device(e.user(e.tenant)), false), fault.NotFound)
		require.NoError(t, e.svc.RemoveDevice(e.as(onLaptop), phone, false))
		require.False(t, e.active(onPhone), "a session opened with the device ended with it")
		require.True(t, e.active(onLaptop))
		ds, err := e.svc.Devices(e.as(onLaptop))
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, laptop, ds[0].ID)
		require.Equal(t, []string{account.ActionDeviceRemoved}, e.actions(phone))
	})

	// The last device goes only with the account, and only when asked.
	t.Run("ErrLastDevice", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user(e.tenant)
		d := e.device(u)
		toks := e.open(u, e.tenant, &d)
		testkit.RequireCode(t, e.svc.RemoveDevice(e.as(toks), d, false), fault.Conflict)
		require.True(t, e.active(toks))
		ds, err := e.svc.Devices(e.as(toks))
		require.NoError(t, err)
		require.Len(t, ds, 1, "the refused removal left the device")
		require.Empty(t, e.actions(d))
	})

	t.Run("OKCloseAccount", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		u := e.user(e.tenant)
		d := e.device(u)
		withDevice, other := e.open(u, e.tenant, &d), e.open(u, e.tenant, nil)
		require.NoError(t, e.svc.RemoveDevice(e.as(withDevice), d, true))
		require.False(t, e.active(withDevice))
		require.False(t, e.active(other), "closing the account ends every session")
		n, err := e.client.Session.Query().Where(entsession.UserID(u), entsession.RevokedAtIsNil()).Count(sys())
		require.NoError(t, err)
		require.Zero(t, n)
		usr, err := e.client.User.Get(sys(), u)
		require.NoError(t, err)
		require.Equal(t, user.StatusDisabled, usr.Status)
		require.Equal(t, []string{account.ActionAccountClosed}, e.actions(u))
		require.Equal(t, []string{account.ActionDeviceRemoved}, e.actions(d))
	})
}
