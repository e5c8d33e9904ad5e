package rls_test

import (
	"context"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/internal/rls"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// TestLockTimeout: WithLockTimeout sets lock_timeout for every statement of
// the driver, alone or in a transaction, for the statement or transaction
// only; without it, the database's own setting holds (a DBA's is not
// overridden), and so it does for the pool's direct users (migrations).
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(testkit.MigratedPostgresURL(t))
	require.NoError(t, err)
	db := rls.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, `DO $$ BEGIN
		EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '3s');
	END $$`)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(0) // the next connection starts with the database's setting
	sys := viewer.System(ctx, viewer.ReasonTest)

	const show = "SELECT current_setting('lock_timeout')"
	setting := func(t *testing.T, d *rls.Driver) any {
		t.Helper()
		var rows entsql.Rows
		require.NoError(t, d.Query(sys, show, []any{}, &rows))
		return scanAll(t, &rows)[0]
	}
	raw := func(t *testing.T) any {
		t.Helper()
		rows, err := db.QueryContext(ctx, show)
		require.NoError(t, err)
		return scanAll(t, rows)[0]
	}
	limitedDrv := rls.New(db).WithLockTimeout(250 * time.Millisecond)
	limited := ent.NewClient(ent.Driver(limitedDrv))

	t.Run("OKAlone", func(t *testing.T) {
		require.Equal(t, "250ms", setting(t, limitedDrv))
		require.Equal(t, "3s", raw(t), "the setting ended with the statement")
	})
	t.Run("OKInTx", func(t *testing.T) {
		tx, err := limited.Tx(ctx)
		require.NoError(t, err)
		_, err = tx.Tenant.Query().Count(sys)
		require.NoError(t, err)
		rows, err := tx.QueryContext(sys, show)
		require.NoError(t, err)
		require.Equal(t, "250ms", scanAll(t, rows)[0])
		require.NoError(t, tx.Commit())
	})
	t.Run("OKDatabaseSettingKept", func(t *testing.T) {
		require.Equal(t, "3s", setting(t, rls.New(db)))
		require.Equal(t, "3s", setting(t, rls.New(db).WithLockTimeout(0)))
	})
}
