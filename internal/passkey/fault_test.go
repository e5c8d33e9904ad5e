package passkey_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/authz"
	"atrium/internal/config"
	"atrium/internal/rls"
	"atrium/internal/testkit"
)

// TestLoginPoolExhausted: a sign-in whose device lookup cannot get a
// database connection answers 503, not the 401 of an unknown device; once
// the pool is free the same device signs in.
func TestLoginPoolExhausted(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	o := app.PoolOptionsFrom(cfg)
	o.MaxConns, o.AcquireTimeout = 2, 50*time.Millisecond
	sqldb, err := sql.Open(rls.DriverName, testkit.MigratedPostgresURL(t))
	require.NoError(t, err)
	db, err := app.OpenPostgres(context.Background(), sqldb, o)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	b := setup(t, db)
	d := newDevice()
	_, err = b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
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
