package migrate_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

// TestAnalyzeStale: a table that changed beyond autovacuum's analyze
// threshold since it was last analyzed is analyzed, the others are not, and
// a table just analyzed is not stale any more.
func TestAnalyzeStale(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", testkit.MigratedPostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	// One connection: its own statistics reach the shared ones before its
	// next statement (pg_stat_force_next_flush), with no wait.
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	_, err = migrate.AnalyzeStale(ctx, db) // whatever the migration left
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO tenants (id, name, slug, created_at, updated_at)
		SELECT gen_random_uuid(), 't', 'stale-' || g, now(), now() FROM generate_series(1, 500) g`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "SELECT pg_stat_force_next_flush()")
	require.NoError(t, err)

	tables, err := migrate.AnalyzeStale(ctx, db)
	require.NoError(t, err)
	require.Equal(t, []string{"public.tenants"}, tables)
	var analyzed bool
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT last_analyze IS NOT NULL AND n_mod_since_analyze = 0 FROM pg_stat_user_tables WHERE relname = 'tenants'").Scan(&analyzed))
	require.True(t, analyzed)
	_, err = db.ExecContext(ctx, "SELECT pg_stat_force_next_flush()")
	require.NoError(t, err)
	tables, err = migrate.AnalyzeStale(ctx, db)
	require.NoError(t, err)
	require.Empty(t, tables, "nothing changed since")
}
