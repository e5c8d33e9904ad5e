package passkey_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/passkey"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// TestLoginPoolExhausted: a sign-in whose device lookup cannot get a
// database connection answers 503, not the 401 of an unknown device; once
// the pool is free the same device signs in.
func TestLoginPoolExhausted(t *testing.T) {
	t.Parallel()
	db := apptest.OpenPostgres(t, testkit.MigratedPostgresURL(t), func(o *app.PoolOptions) {
		o.MaxConns, o.AcquireTimeout = 2, 50*time.Millisecond
	})
	b := setup(t, db)
	d := newDevice()
	_, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
	require.NoError(t, err)

	id, cred := b.assertion(d, b.rp)
	// Two transactions hold the whole pool.
	tx1, err := db.Client.Tx(b.ctx)
	require.NoError(t, err)
	tx2, err := db.Client.Tx(b.ctx)
	require.NoError(t, err)
	_, err = b.anon.Login(b.ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
	requireStatus(t, err, http.StatusServiceUnavailable)
	require.NoError(t, tx1.Rollback())
	require.NoError(t, tx2.Rollback())

	_, err = b.login(d)
	require.NoError(t, err, "the same device signs in once the pool is free")
}

// TestOneConnection: enrolling with an invitation, signing in and rotating
// the refresh token each run on a pool of one connection. A request that
// holds a connection (inside a transaction) while it waits for a second one
// cannot finish on such a pool: it waits for the acquire timeout and
// answers 503. Enrollment did that (it read the invitation's email on
// another connection from inside its transaction), so as many concurrent
// enrollments as the pool had connections stalled each other.
func TestOneConnection(t *testing.T) {
	t.Parallel()
	db := apptest.OpenPostgres(t, testkit.MigratedPostgresURL(t), func(o *app.PoolOptions) {
		o.MaxConns, o.AcquireTimeout = 1, time.Second
	})
	b := setup(t, db)

	role := authz.RoleMemberID
	email := "ada@example.com"
	inv, err := b.env.App.Passkeys.Invite(viewer.SystemForTenant(b.ctx, b.tenant, viewer.ReasonTest),
		passkey.InviteInput{RoleID: &role, Email: &email})
	require.NoError(t, err)
	d := newDevice()
	res, err := b.enroll(b.anon, d, inv.Token, b.rp)
	require.NoError(t, err, "enrollment finishes on one connection")
	require.True(t, res.Token.Set)
	u, err := db.Client.User.Get(b.env.System(), res.Token.Value.UserID)
	require.NoError(t, err)
	require.NotNil(t, u.Email, "the invitation's email moves to the new member")
	require.Equal(t, email, *u.Email)
	spent, err := db.Client.Invitation.Get(b.env.System(), inv.Invitation.ID)
	require.NoError(t, err)
	require.Nil(t, spent.Email, "and leaves the spent invitation")
	require.NotNil(t, spent.UsedAt)

	tok, err := b.login(d)
	require.NoError(t, err, "sign-in finishes on one connection")
	tok, err = refresh(b, tok.RefreshToken)
	require.NoError(t, err, "rotation finishes on one connection")
	me := b.env.Client(tok.AccessToken)

	// A second device, signed in.
	_, err = b.enroll(me, newDevice(), "", b.rp)
	require.NoError(t, err, "adding a device finishes on one connection")
	// Joining a second tenant, and switching to it.
	other := b.env.Tenant().ID
	otherAdmin := b.env.Member(other, authz.RoleAdminID)
	_, err = accept(b, me, inviteTo(t, b, otherAdmin.Client, authz.RoleMemberID, email))
	require.NoError(t, err, "accepting an invitation finishes on one connection")
	switched, err := exchange(b, tok.AccessToken, other)
	require.NoError(t, err, "switching tenants finishes on one connection")
	me = b.env.Client(switched.AccessToken)
	_, err = me.ListMySessions(b.ctx)
	require.NoError(t, err)
	require.NoError(t, me.Logout(b.ctx), "logout finishes on one connection")
}
