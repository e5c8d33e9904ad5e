package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

// TestLint: the project's lint policy (atlas's destructive and
// data-dependent checks, as atlas.hcl sets them) passes on both whole
// directories, only because the reviewed atlas:nolint directives of the
// historical files name the exact checks.
func TestLint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := migrate.WithRoot(filepath.Join("..", "..", "migrations"))
	t.Run("OK/sqlite", func(t *testing.T) {
		t.Parallel()
		diags, err := migrate.Lint(ctx, dialect.SQLite, "", repo)
		require.NoError(t, err)
		require.NotEmpty(t, diags, "the historical findings are reported, silenced")
		for _, d := range diags {
			require.True(t, d.Silenced, d.String())
		}
	})
	t.Run("OK/postgres", func(t *testing.T) {
		t.Parallel()
		diags, err := migrate.Lint(ctx, dialect.Postgres, testkit.PostgresURL(t), repo)
		require.NoError(t, err)
		codes := map[string]bool{}
		for _, d := range diags {
			require.True(t, d.Silenced, d.String())
			if d.File == "postgres/20261101000600_tenant_constraints.sql" {
				codes[d.Code] = true
			}
		}
		// What `atlas migrate lint --env ci` reported on this file.
		require.Equal(t, map[string]bool{"DS103": true, "MF101": true, "MF104": true}, codes)
	})
}

// TestLintPolicy: a new file cannot silence lint: a destructive change
// fails, with or without a directive, and the historical file fails
// without its directive.
func TestLintPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lint := func(t *testing.T, edit func(dir string)) error {
		t.Helper()
		root := copyDirs(t)
		edit(filepath.Join(root, "sqlite"))
		require.NoError(t, migrate.Hash(dialect.SQLite, migrate.WithRoot(root)))
		_, err := migrate.Lint(ctx, dialect.SQLite, "", migrate.WithRoot(root))
		return err
	}
	newFile := func(content string) func(string) {
		return func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "20991231000000_drop.sql"), []byte(content), 0o644))
		}
	}
	t.Run("ErrDestructive", func(t *testing.T) {
		err := lint(t, newFile("DROP TABLE `llm_usages`;\n"))
		require.ErrorContains(t, err, `sqlite/20991231000000_drop.sql:1: DS102: Dropping table "llm_usages"`)
	})
	t.Run("ErrDirectiveNotAllowed", func(t *testing.T) {
		err := lint(t, newFile("-- atlas:nolint DS102\nDROP TABLE `llm_usages`;\n"))
		require.ErrorContains(t, err, "atlas:nolint DS102 is not in the reviewed allow-list")
		require.ErrorContains(t, err, "DS102: Dropping table")
	})
	t.Run("ErrBareDirective", func(t *testing.T) {
		err := lint(t, newFile("-- atlas:nolint\nDROP TABLE `llm_usages`;\n"))
		require.ErrorContains(t, err, "bare atlas:nolint")
	})
	t.Run("ErrDataDependent", func(t *testing.T) {
		err := lint(t, newFile("CREATE UNIQUE INDEX `llmusage_x` ON `llm_usages` (`tenant_id`);\n"))
		require.ErrorContains(t, err, "MF101")
	})
	t.Run("ErrHistoricalWithoutDirective", func(t *testing.T) {
		err := lint(t, func(dir string) {
			p := filepath.Join(dir, "20261127082802_audit_chain.sql")
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), "-- atlas:nolint MF103\n", "", 1)), 0o644))
		})
		require.ErrorContains(t, err, "MF103")
	})
}
