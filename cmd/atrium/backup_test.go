package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/app"
	"atrium/internal/migrate"
)

// TestBackupRestoreDrill: back up, write more, restore; the restored database
// is the backup (same tenants, same audit trail), its schema equals ent's and
// its audit chains verify. Uses t.Setenv, so not parallel.
func TestBackupRestoreDrill(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATRIUM_DATA_DIR", dir)
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	do := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, &out, &errb)
		return code, out.String() + errb.String()
	}
	code, msg := do("tenant", "create", "--name", "Before", "--init")
	require.Equal(t, exitOK, code, msg)
	backup := filepath.Join(t.TempDir(), "atrium-backup.db")

	t.Run("OKBackup", func(t *testing.T) {
		code, msg := do("backup", "--out", backup)
		require.Equal(t, exitOK, code, msg)
	})
	t.Run("ErrBackupExists", func(t *testing.T) {
		code, msg := do("backup", "--out", backup)
		require.Equal(t, exitFail, code)
		require.Contains(t, msg, "exists")
	})
	code, msg = do("tenant", "create", "--name", "After")
	require.Equal(t, exitOK, code, msg)

	t.Run("ErrExistingDatabase", func(t *testing.T) {
		code, msg := do("restore", "--from", backup)
		require.Equal(t, exitFail, code)
		require.Contains(t, msg, "--force")
		require.Equal(t, []string{"after", "before"}, slugs(t, filepath.Join(dir, "atrium.db")))
	})
	t.Run("ErrNotAtrium", func(t *testing.T) {
		junk := filepath.Join(t.TempDir(), "junk.db")
		require.NoError(t, os.WriteFile(junk, []byte("not a database at all, not at all"), 0o600))
		code, _ := do("restore", "--from", junk, "--force")
		require.Equal(t, exitFail, code)
		other := filepath.Join(t.TempDir(), "other.db")
		db, err := sql.Open("sqlite", "file:"+other)
		require.NoError(t, err)
		_, err = db.Exec("CREATE TABLE t (x int)")
		require.NoError(t, err)
		require.NoError(t, db.Close())
		code, msg := do("restore", "--from", other, "--force")
		require.Equal(t, exitFail, code)
		require.Contains(t, msg, "not an Atrium database")
	})
	t.Run("ErrUnknownMigration", func(t *testing.T) {
		newer := filepath.Join(t.TempDir(), "newer.db")
		require.NoError(t, backupSQLite(ctx, backup, newer))
		db, err := sql.Open("sqlite", "file:"+newer)
		require.NoError(t, err)
		_, err = db.Exec("UPDATE atlas_schema_revisions SET version = '99990101000000' WHERE version = (SELECT max(version) FROM atlas_schema_revisions)")
		require.NoError(t, err)
		require.NoError(t, db.Close())
		code, msg := do("restore", "--from", newer, "--force")
		require.Equal(t, exitFail, code)
		require.Contains(t, msg, "does not know")
	})
	t.Run("OKRestore", func(t *testing.T) {
		code, msg := do("restore", "--from", backup, "--force")
		require.Equal(t, exitOK, code, msg)
		require.Contains(t, msg, "moved the previous database aside")
		restored := filepath.Join(dir, "atrium.db")
		require.Equal(t, []string{"before"}, slugs(t, restored))
		require.Equal(t, rowCounts(t, backup), rowCounts(t, restored))

		code, msg = do("audit", "verify")
		require.Equal(t, exitOK, code, msg)
		code, msg = do("migrate", "status")
		require.Equal(t, exitOK, code, msg)
		db, err := app.OpenSQLite(ctx, restored)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, migrate.Verify(ctx, db.DB, db.Dialect))
	})
}

func slugs(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT slug FROM tenants ORDER BY slug")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func rowCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		tables = append(tables, s)
	}
	require.NoError(t, rows.Close())
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM "`+tb+`"`).Scan(&n))
		out[tb] = n
	}
	return out
}
