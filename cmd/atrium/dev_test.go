package main

import (
	"bytes"
	"context"
	"database/sql"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/legacy"
	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

// TestDevLegacyFixture drives `atrium dev legacy-fixture` on an empty
// PostgreSQL database. It sets environment variables, so it cannot run in
// parallel.
func TestDevLegacyFixture(t *testing.T) {
	u := testkit.PostgresURL(t)
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	t.Setenv("ATRIUM_DATABASE_URL", u)
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	cmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runDev(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	db, err := sql.Open("pgx", u)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	count := func(q string) int64 {
		var n int64
		require.NoError(t, db.QueryRowContext(ctx, q).Scan(&n), q)
		return n
	}

	t.Run("OK", func(t *testing.T) {
		code, out, stderr := cmd("legacy-fixture", "--schema", "--users", "20", "--conversations", "30", "--messages-per-conversation", "3",
			"--documents", "5", "--agents", "4", "--teams", "3", "--knowledge-graphs", "2", "--admins", "0", "--seed", "42")
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, out, "created the legacy schema")
		require.Regexp(t, `messages +90 rows`, out)
		require.Contains(t, out, "filled 154 rows (seed 42)")
		require.Contains(t, out, "atrium migrate apply --baseline "+legacy.BaselineVersion)
		require.EqualValues(t, 90, count("SELECT count(*) FROM messages"))
		require.EqualValues(t, 0, count("SELECT count(*) FROM old_users WHERE is_admin"), "an explicit --admins 0 means none")
		require.EqualValues(t, 0, count("SELECT count(*) FROM information_schema.tables WHERE table_name = 'atlas_schema_revisions'"))
	})
	t.Run("ErrSchemaExists", func(t *testing.T) {
		code, _, stderr := cmd("legacy-fixture", "--schema", "--users", "1")
		require.Equal(t, exitFail, code)
		require.Contains(t, stderr, "table old_users already exists")
	})
	t.Run("ErrNotEmpty", func(t *testing.T) {
		code, _, stderr := cmd("legacy-fixture", "--users", "1")
		require.Equal(t, exitFail, code)
		require.Contains(t, stderr, "not empty")
	})
	t.Run("ErrMigrated", func(t *testing.T) {
		// Adopted at the baseline and migrated one step further: no longer
		// a legacy database.
		ddl, err := legacy.BaselineSQL()
		require.NoError(t, err)
		dir := &atlasmigrate.MemDir{}
		require.NoError(t, dir.WriteFile(legacy.BaselineVersion+"_legacy_baseline.sql", []byte(ddl)))
		require.NoError(t, dir.WriteFile("20261201000000_next.sql", []byte("TRUNCATE messages, conversations, old_users, documents, agents, teams, knowledge_graphs;")))
		sum, err := dir.Checksum()
		require.NoError(t, err)
		require.NoError(t, atlasmigrate.WriteSumFile(dir, sum))
		_, err = migrate.Apply(ctx, db, dialect.Postgres, migrate.WithDir(dir), migrate.WithBaseline(legacy.BaselineVersion))
		require.NoError(t, err)

		code, _, stderr := cmd("legacy-fixture", "--users", "1")
		require.Equal(t, exitFail, code)
		require.Contains(t, stderr, "migrations applied beyond the legacy baseline")
	})
	t.Run("ErrFlags", func(t *testing.T) {
		code, _, stderr := cmd("legacy-fixture", "--users", "-1", "--conversations", "5")
		require.Equal(t, exitConfig, code)
		require.Contains(t, stderr, "users: want >= 0")
		code, _, _ = cmd("legacy-fixture", "extra")
		require.Equal(t, exitConfig, code)
		code, _, _ = cmd("frobnicate")
		require.Equal(t, exitConfig, code)
	})
	t.Run("Help", func(t *testing.T) {
		code, out, _ := cmd("--help")
		require.Equal(t, exitOK, code)
		require.Contains(t, out, "legacy-fixture --users N")
		code, _, stderr := cmd("legacy-fixture", "--help")
		require.Equal(t, exitOK, code)
		require.Contains(t, stderr, "-knowledge-graphs")
	})
}

// TestDevLegacyFixtureSQLite: the legacy workspace ran on PostgreSQL only.
func TestDevLegacyFixtureSQLite(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	var out, errOut bytes.Buffer
	code := runDev(context.Background(), []string{"legacy-fixture", "--schema", "--users", "1"}, &out, &errOut)
	require.Equal(t, exitConfig, code)
	require.Contains(t, errOut.String(), "PostgreSQL only")
	require.Empty(t, out.String())
}
