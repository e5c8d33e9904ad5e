package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/migrate"
)

// TestMigrateDown reverts the SQLite database of ATRIUM_DATA_DIR one version,
// then all of them, and applies them again. It uses t.Setenv, so it does not
// run in parallel.
func TestMigrateDown(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	dir, err := migrate.Dir(dialect.SQLite)
	require.NoError(t, err)
	files, err := dir.Files()
	require.NoError(t, err)
	n := len(files)
	last, prev := files[n-1], files[n-2]
	cmd := func(t *testing.T, f func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := f(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	down, migrateCmd := runMigrateDown, runMigrate
	code, _, errs := cmd(t, migrateCmd, "apply")
	require.Equal(t, exitOK, code, errs)

	t.Run("OKDryRun", func(t *testing.T) {
		code, out, errs := cmd(t, down, "--dry-run")
		require.Equal(t, exitOK, code, errs)
		require.Contains(t, out, "-- reverting version "+last.Version())
		require.Contains(t, out, "would revert 1 files")
		_, out, _ = cmd(t, migrateCmd, "status")
		require.Contains(t, out, "pending:  0")
	})
	t.Run("OK", func(t *testing.T) {
		code, out, errs := cmd(t, down)
		require.Equal(t, exitOK, code, errs)
		require.Contains(t, out, "reverted 1 files")
		require.Contains(t, out, "version "+last.Version()+" -> "+prev.Version())
		_, out, _ = cmd(t, migrateCmd, "status")
		require.Contains(t, out, "pending:  1\n  "+last.Name())
	})
	t.Run("ErrUnknownVersion", func(t *testing.T) {
		code, _, errs := cmd(t, down, "--to", "nope")
		require.Equal(t, exitFail, code)
		require.Contains(t, errs, `unknown version "nope"`)
	})
	t.Run("ErrArgs", func(t *testing.T) {
		code, _, _ := cmd(t, down, "extra")
		require.Equal(t, exitConfig, code)
	})
	t.Run("OKToZeroThenApply", func(t *testing.T) {
		code, out, errs := cmd(t, down, "--to", "0", "-v")
		require.Equal(t, exitOK, code, errs)
		require.Contains(t, out, "version "+prev.Version()+" -> none")
		require.Contains(t, errs, "migrate: reverting")
		code, out, _ = cmd(t, down)
		require.Equal(t, exitOK, code)
		require.Contains(t, out, "nothing to revert")
		code, out, errs = cmd(t, migrateCmd, "apply")
		require.Equal(t, exitOK, code, errs)
		require.Contains(t, out, "version none -> "+last.Version())
	})
}

// TestMigrateDownPlan drafts a down script from a copy of ./migrations/sqlite.
// It changes the working directory, so it does not run in parallel.
func TestMigrateDownPlan(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(root, "migrations", "sqlite"), os.DirFS(filepath.Join("..", "..", "migrations", "sqlite"))))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "migrations", "sqlite", "down")))
	t.Chdir(root)
	dir, err := migrate.LocalDir(dialect.SQLite)
	require.NoError(t, err)
	files, err := dir.Files()
	require.NoError(t, err)
	first := files[0]
	ctx := context.Background()

	t.Run("OKPrint", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, runMigrateDownPlan(ctx, []string{first.Version(), "--dialect", "sqlite"}, &out, &errb), errb.String())
		require.Contains(t, out.String(), "-- Down script of "+first.Name())
		require.Contains(t, out.String(), "DROP TABLE `users`;")
	})
	t.Run("OKWrite", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, runMigrateDownPlan(ctx, []string{first.Version(), "--dialect", "sqlite", "--write"}, &out, &errb), errb.String())
		b, err := os.ReadFile(filepath.Join("migrations", "sqlite", "down", first.Name()))
		require.NoError(t, err)
		require.Contains(t, string(b), "DROP TABLE `users`;")
	})
	t.Run("ErrExists", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitFail, runMigrateDownPlan(ctx, []string{first.Version(), "--dialect", "sqlite", "--write"}, &out, &errb))
		require.Contains(t, errb.String(), "exists")
	})
	t.Run("ErrUnknownVersion", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitFail, runMigrateDownPlan(ctx, []string{"42", "--dialect", "sqlite"}, &out, &errb))
		require.Contains(t, errb.String(), `no file with version "42"`)
	})
	t.Run("ErrNoVersion", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, runMigrateDownPlan(ctx, []string{"--dialect", "sqlite"}, &out, &errb))
	})
}
