package migrate_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/app"
	"atrium/internal/authz"
	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// emptyDB is a database without any table.
type emptyDB struct {
	dialect string
	db      *sql.DB
	url     string // PostgreSQL only
}

// forEachDialect runs f on a fresh empty database of each dialect; the
// PostgreSQL half skips (fails in CI) without a server.
func forEachDialect(t *testing.T, f func(t *testing.T, e emptyDB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, emptyDB{dialect: dialect.SQLite, db: emptySQLite(t)})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		u := testkit.PostgresURL(t)
		db, err := sql.Open("pgx", u)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		f(t, emptyDB{dialect: dialect.Postgres, db: db, url: u})
	})
}

func emptySQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := app.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "atrium.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db.DB
}

func dirFiles(t *testing.T, dia string) []atlasmigrate.File {
	t.Helper()
	dir, err := migrate.Dir(dia)
	require.NoError(t, err)
	files, err := dir.Files()
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func TestApply(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		files := dirFiles(t, e.dialect)
		last := files[len(files)-1].Version()

		t.Run("OK", func(t *testing.T) {
			start := time.Now()
			rep, err := migrate.Apply(ctx, e.db, e.dialect)
			require.NoError(t, err)
			t.Logf("apply from empty on %s: %d files, %d statements in %s", e.dialect, len(rep.Applied), rep.Statements, time.Since(start))
			require.Len(t, rep.Applied, len(files))
			require.Equal(t, "", rep.From)
			require.Equal(t, last, rep.To)
			if e.dialect == dialect.Postgres {
				// Planner statistics are fresh: every table was analysed.
				require.Positive(t, rep.Analyzed)
				var never int
				require.NoError(t, e.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_user_tables
					WHERE schemaname = current_schema() AND last_analyze IS NULL`).Scan(&never))
				require.Zero(t, never, "tables never analysed after apply")
			} else {
				require.Zero(t, rep.Analyzed)
			}

			st, err := migrate.Status(ctx, e.db, e.dialect)
			require.NoError(t, err)
			require.True(t, st.OK())
			require.Equal(t, len(files), st.Applied)
			require.Equal(t, last, st.Current)
		})
		t.Run("OKSecondApplyIsNoop", func(t *testing.T) {
			rep, err := migrate.Apply(ctx, e.db, e.dialect)
			require.NoError(t, err)
			require.Empty(t, rep.Applied)
			require.Zero(t, rep.Analyzed, "nothing changed, nothing analysed")
			require.Equal(t, last, rep.From)
			n, err := migrate.Pending(ctx, e.db, e.dialect)
			require.NoError(t, err)
			require.Zero(t, n)
		})
		t.Run("OKMatchesEntSchema", func(t *testing.T) {
			require.NoError(t, migrate.Verify(ctx, e.db, e.dialect))
		})
		t.Run("OKSystemRolesSeeded", func(t *testing.T) {
			rows, err := e.db.QueryContext(ctx, "SELECT id, name, description, system, permissions, created_at FROM roles WHERE tenant_id IS NULL ORDER BY id")
			require.NoError(t, err)
			defer rows.Close()
			var got []authz.SystemRole
			for rows.Next() {
				var (
					r       authz.SystemRole
					system  bool
					perms   []byte
					created time.Time
				)
				require.NoError(t, rows.Scan(&r.ID, &r.Name, &r.Description, &system, &perms, &created))
				require.True(t, system)
				require.WithinDuration(t, time.Now(), created, time.Hour)
				require.NoError(t, json.Unmarshal(perms, &r.Grants))
				got = append(got, r)
			}
			require.NoError(t, rows.Err())
			require.Equal(t, authz.SystemRoles, got)
		})
		t.Run("OKRevisions", func(t *testing.T) {
			rows, err := e.db.QueryContext(ctx, "SELECT version, type, applied, total, hash, operator_version, error FROM "+revisionTable(e.dialect)+" ORDER BY version")
			require.NoError(t, err)
			defer rows.Close()
			i := 0
			for rows.Next() {
				var (
					version, hash, op string
					typ, applied, tot int
					errText           sql.NullString
				)
				require.NoError(t, rows.Scan(&version, &typ, &applied, &tot, &hash, &op, &errText))
				require.Equal(t, files[i].Version(), version)
				require.Equal(t, int(atlasmigrate.RevisionTypeExecute), typ)
				require.Equal(t, tot, applied)
				require.NotEmpty(t, hash)
				require.Equal(t, migrate.OperatorVersion, op)
				require.False(t, errText.Valid)
				i++
			}
			require.NoError(t, rows.Err())
			require.Equal(t, len(files), i)
		})
	})
}

func revisionTable(dia string) string {
	if dia == dialect.Postgres {
		return `"atlas_schema_revisions"."atlas_schema_revisions"`
	}
	return "atlas_schema_revisions"
}

// column is one column of the revision table as the database reports it.
type column struct {
	Name, Type string
	Nullable   bool
}

// The atlas CLI's revision table (cmd/atlas/internal/migrate/ent/schema), as
// ent creates it on each dialect.
var cliRevisionColumns = map[string][]column{
	dialect.Postgres: {
		{"version", "character varying", false},
		{"description", "character varying", false},
		{"type", "bigint", false},
		{"applied", "bigint", false},
		{"total", "bigint", false},
		{"executed_at", "timestamp with time zone", false},
		{"execution_time", "bigint", false},
		{"error", "text", true},
		{"error_stmt", "text", true},
		{"hash", "character varying", false},
		{"partial_hashes", "jsonb", true},
		{"operator_version", "character varying", false},
	},
	dialect.SQLite: {
		{"version", "text", false},
		{"description", "text", false},
		{"type", "integer", false},
		{"applied", "integer", false},
		{"total", "integer", false},
		{"executed_at", "datetime", false},
		{"execution_time", "integer", false},
		{"error", "text", true},
		{"error_stmt", "text", true},
		{"hash", "text", false},
		{"partial_hashes", "json", true},
		{"operator_version", "text", false},
	},
}

func TestRevisionTable(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		_, err := migrate.Apply(ctx, e.db, e.dialect)
		require.NoError(t, err)

		var (
			cols []column
			pk   []string
		)
		switch e.dialect {
		case dialect.Postgres:
			rows, err := e.db.QueryContext(ctx, `SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns
				WHERE table_schema = 'atlas_schema_revisions' AND table_name = 'atlas_schema_revisions' ORDER BY ordinal_position`)
			require.NoError(t, err)
			for rows.Next() {
				var c column
				require.NoError(t, rows.Scan(&c.Name, &c.Type, &c.Nullable))
				cols = append(cols, c)
			}
			require.NoError(t, rows.Err())
			rows.Close()
			rows, err = e.db.QueryContext(ctx, `SELECT k.column_name FROM information_schema.table_constraints c
				JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
				WHERE c.table_schema = 'atlas_schema_revisions' AND c.table_name = 'atlas_schema_revisions' AND c.constraint_type = 'PRIMARY KEY'`)
			require.NoError(t, err)
			for rows.Next() {
				var n string
				require.NoError(t, rows.Scan(&n))
				pk = append(pk, n)
			}
			require.NoError(t, rows.Err())
			rows.Close()
		default:
			rows, err := e.db.QueryContext(ctx, "SELECT name, lower(type), \"notnull\" = 0, pk FROM pragma_table_info('atlas_schema_revisions') ORDER BY cid")
			require.NoError(t, err)
			for rows.Next() {
				var (
					c     column
					isKey int
				)
				require.NoError(t, rows.Scan(&c.Name, &c.Type, &c.Nullable, &isKey))
				cols = append(cols, c)
				if isKey > 0 {
					pk = append(pk, c.Name)
				}
			}
			require.NoError(t, rows.Err())
			rows.Close()
		}
		require.Equal(t, cliRevisionColumns[e.dialect], cols)
		require.Equal(t, []string{"version"}, pk)
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		require.Equal(t, migrate.RevisionColumns(), names)
	})
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		files := dirFiles(t, e.dialect)

		t.Run("OKChangesNothing", func(t *testing.T) {
			var buf bytes.Buffer
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDryRun(&buf))
			require.NoError(t, err)
			require.True(t, rep.DryRun)
			require.Len(t, rep.Applied, len(files))
			for _, f := range files {
				require.Contains(t, buf.String(), f.Name())
			}
			require.Contains(t, buf.String(), "CREATE TABLE")
			require.Contains(t, buf.String(), "INSERT INTO")
			require.Zero(t, countTables(t, e))
		})
		t.Run("OKNothingPending", func(t *testing.T) {
			_, err := migrate.Apply(ctx, e.db, e.dialect)
			require.NoError(t, err)
			var buf bytes.Buffer
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDryRun(&buf))
			require.NoError(t, err)
			require.Empty(t, rep.Applied)
			require.Contains(t, buf.String(), "no pending")
		})
	})
}

// countTables counts the tables of every non-system schema.
func countTables(t *testing.T, e emptyDB) int {
	t.Helper()
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	if e.dialect == dialect.Postgres {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
	}
	var n int
	require.NoError(t, e.db.QueryRow(q).Scan(&n))
	return n
}

func TestBaseline(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		files := dirFiles(t, e.dialect)
		first := files[0]

		t.Run("ErrDirtyWithoutBaseline", func(t *testing.T) {
			// The schema exists (created before revisions were tracked).
			_, err := e.db.ExecContext(ctx, string(first.Bytes()))
			require.NoError(t, err)
			_, err = migrate.Apply(ctx, e.db, e.dialect)
			require.ErrorContains(t, err, "baseline")
		})
		t.Run("ErrUnknownVersion", func(t *testing.T) {
			_, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithBaseline("19990101000000"))
			require.ErrorContains(t, err, "not found")
		})
		t.Run("OK", func(t *testing.T) {
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithBaseline(first.Version()))
			require.NoError(t, err)
			require.Equal(t, first.Version(), rep.Baseline)
			require.Len(t, rep.Applied, len(files)-1)

			var typ int
			require.NoError(t, e.db.QueryRow("SELECT type FROM "+revisionTable(e.dialect)+" WHERE version = '"+first.Version()+"'").Scan(&typ))
			require.Equal(t, int(atlasmigrate.RevisionTypeBaseline), typ)
			st, err := migrate.Status(ctx, e.db, e.dialect)
			require.NoError(t, err)
			require.True(t, st.OK(), "%+v", st)
			require.Equal(t, len(files), st.Applied)
			require.NoError(t, migrate.Verify(ctx, e.db, e.dialect))
		})
	})
}

func TestApplyFailedFile(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		dir := memDir(t, map[string]string{
			"1_a.sql": "CREATE TABLE a (x integer);\n",
			"2_b.sql": "CREATE TABLE b (x integer);\nINSERT INTO nope VALUES (1);\n",
		})

		t.Run("ErrRolledBackAndRecorded", func(t *testing.T) {
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.ErrorContains(t, err, "nope")
			require.Equal(t, []string{"1_a.sql"}, rep.Applied)
			st, err := migrate.Status(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			require.Equal(t, []string{"2_b.sql"}, st.PendingFiles)
			require.Contains(t, st.Error, "nope")
			var n int
			err = e.db.QueryRow("SELECT count(*) FROM b").Scan(&n)
			require.Error(t, err, "table b must have been rolled back")
		})
		t.Run("OKRetryAfterFix", func(t *testing.T) {
			require.NoError(t, dir.WriteFile("2_b.sql", []byte("CREATE TABLE b (x integer);\n")))
			rehash(t, dir)
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			require.Equal(t, []string{"2_b.sql"}, rep.Applied)
			st, err := migrate.Status(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			require.True(t, st.OK(), "%+v", st)
		})
	})
}

func TestApplyConcurrent(t *testing.T) {
	t.Parallel()
	u := testkit.PostgresURL(t)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		reports = make([]migrate.Report, 3)
		errs    = make([]error, 3)
	)
	for i := range reports {
		db, err := sql.Open("pgx", u)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		wg.Go(func() { reports[i], errs[i] = migrate.Apply(ctx, db, dialect.Postgres) })
	}
	wg.Wait()
	total := 0
	for i := range reports {
		require.NoError(t, errs[i])
		total += len(reports[i].Applied)
	}
	require.Equal(t, len(dirFiles(t, dialect.Postgres)), total, "the lock lets exactly one deployer apply")
}

func memDir(t *testing.T, files map[string]string) *atlasmigrate.MemDir {
	t.Helper()
	dir := &atlasmigrate.MemDir{}
	for name, content := range files {
		require.NoError(t, dir.WriteFile(name, []byte(content)))
	}
	rehash(t, dir)
	return dir
}

func rehash(t *testing.T, dir atlasmigrate.Dir) {
	t.Helper()
	sum, err := dir.Checksum()
	require.NoError(t, err)
	require.NoError(t, atlasmigrate.WriteSumFile(dir, sum))
}

// copyDirs copies the repository's migrations into a temp root.
func copyDirs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, sub := range []string{"postgres", "sqlite"} {
		require.NoError(t, os.CopyFS(filepath.Join(root, sub), os.DirFS(filepath.Join("..", "..", "migrations", sub))))
	}
	return root
}

func TestCheck(t *testing.T) {
	t.Parallel()
	devURL := func(t *testing.T, dia string) string {
		if dia == dialect.Postgres {
			return testkit.PostgresURL(t)
		}
		return ""
	}
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		t.Run("OK", func(t *testing.T) {
			require.NoError(t, migrate.Check(ctx, e.dialect, devURL(t, e.dialect), migrate.WithRoot(filepath.Join("..", "..", "migrations"))))
		})
		t.Run("ErrChecksum", func(t *testing.T) {
			root := copyDirs(t)
			dir, err := migrate.LocalDir(e.dialect, migrate.WithRoot(root))
			require.NoError(t, err)
			files, err := dir.Files()
			require.NoError(t, err)
			require.NoError(t, dir.WriteFile(files[0].Name(), append(files[0].Bytes(), "-- edited\n"...)))
			require.ErrorIs(t, migrate.Check(ctx, e.dialect, devURL(t, e.dialect), migrate.WithRoot(root)), atlasmigrate.ErrChecksumMismatch)
		})
		t.Run("ErrBehindSchema", func(t *testing.T) {
			root := copyDirs(t)
			dir, err := migrate.LocalDir(e.dialect, migrate.WithRoot(root))
			require.NoError(t, err)
			files, err := dir.Files()
			require.NoError(t, err)
			// Drop the last statement of the first generated schema file
			// (on PostgreSQL the legacy baseline comes before it).
			i := slices.IndexFunc(files, func(f atlasmigrate.File) bool { return strings.Contains(string(f.Bytes()), "\n-- Create \"") })
			require.GreaterOrEqual(t, i, 0)
			body := strings.TrimRight(string(files[i].Bytes()), "\n")
			body = body[:strings.LastIndex(body, "\n-- ")+1]
			require.NoError(t, dir.WriteFile(files[i].Name(), []byte(body)))
			require.NoError(t, migrate.Hash(e.dialect, migrate.WithRoot(root)))
			err = migrate.Check(ctx, e.dialect, devURL(t, e.dialect), migrate.WithRoot(root))
			require.ErrorContains(t, err, "behind the ent schema")
		})
	})
}

func TestDiff(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		root := t.TempDir()
		dev := ""
		if e.dialect == dialect.Postgres {
			dev = testkit.PostgresURL(t)
		}
		t.Run("OKFromScratch", func(t *testing.T) {
			require.NoError(t, migrate.Diff(ctx, e.dialect, dev, "init", migrate.WithRoot(root), migrate.WithVersion("1")))
			sql, err := migrate.SystemRolesSQL(e.dialect)
			require.NoError(t, err)
			name, err := migrate.NewFile(e.dialect, "seed", sql, migrate.WithRoot(root), migrate.WithVersion("2"))
			require.NoError(t, err)
			require.Equal(t, "2_seed.sql", name)
			dir, err := migrate.LocalDir(e.dialect, migrate.WithRoot(root))
			require.NoError(t, err)
			require.NoError(t, atlasmigrate.Validate(dir))
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			require.Len(t, rep.Applied, 2)
			require.NoError(t, migrate.Verify(ctx, e.db, e.dialect))
		})
		t.Run("ErrNoChanges", func(t *testing.T) {
			err := migrate.Diff(ctx, e.dialect, dev, "again", migrate.WithRoot(root))
			require.ErrorIs(t, err, migrate.ErrNoChanges)
		})
	})
}

// BenchmarkApplyFromEmpty measures Apply of the whole directory on an empty
// database (revision table, lock and every file).
func BenchmarkApplyFromEmpty(b *testing.B) {
	ctx := context.Background()
	b.Run("sqlite", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			db, err := app.OpenSQLite(ctx, filepath.Join(b.TempDir(), "atrium.db"))
			require.NoError(b, err)
			b.StartTimer()
			_, err = migrate.Apply(ctx, db.DB, dialect.SQLite)
			require.NoError(b, err)
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
	})
	b.Run("postgres", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			db, err := sql.Open("pgx", testkit.PostgresURL(b))
			require.NoError(b, err)
			require.NoError(b, db.Ping())
			b.StartTimer()
			_, err = migrate.Apply(ctx, db, dialect.Postgres)
			require.NoError(b, err)
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
	})
}

// TestApplySQLiteTableRebuild covers how atlas changes an SQLite table: copy,
// drop, rename — which only works with foreign keys off during the file.
func TestApplySQLiteTableRebuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := map[string]string{
		"1_init.sql": "CREATE TABLE p (id integer PRIMARY KEY);\nCREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL REFERENCES p (id));\nINSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1);\n",
	}
	rebuild := "PRAGMA foreign_keys = off;\nCREATE TABLE new_p (id integer PRIMARY KEY, name text NOT NULL DEFAULT '');\nINSERT INTO new_p (id) SELECT id FROM p;\nDROP TABLE p;\nALTER TABLE new_p RENAME TO p;\nPRAGMA foreign_keys = on;\n"

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		db := emptySQLite(t)
		files := map[string]string{"2_rebuild.sql": rebuild}
		for k, v := range base {
			files[k] = v
		}
		_, err := migrate.Apply(ctx, db, dialect.SQLite, migrate.WithDir(memDir(t, files)))
		require.NoError(t, err)
		var on int
		require.NoError(t, db.QueryRow("PRAGMA foreign_keys").Scan(&on))
		require.Equal(t, 1, on, "foreign keys are back on")
		var name string
		require.NoError(t, db.QueryRow("SELECT p.name FROM c JOIN p ON p.id = c.p_id").Scan(&name))
	})
	t.Run("ErrViolation", func(t *testing.T) {
		t.Parallel()
		db := emptySQLite(t)
		files := map[string]string{"2_orphan.sql": "PRAGMA foreign_keys = off;\nDELETE FROM p;\n"}
		for k, v := range base {
			files[k] = v
		}
		_, err := migrate.Apply(ctx, db, dialect.SQLite, migrate.WithDir(memDir(t, files)))
		require.ErrorContains(t, err, "foreign key violations")
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM p").Scan(&n))
		require.Equal(t, 1, n, "rolled back")
	})
}

func TestApplyTxModeNone(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		index := "CREATE INDEX a_x ON a (x);\n"
		if e.dialect == dialect.Postgres {
			index = "CREATE INDEX CONCURRENTLY a_x ON a (x);\n"
		}
		dir := memDir(t, map[string]string{
			"1_a.sql":     "CREATE TABLE a (x integer);\n",
			"2_index.sql": "-- atlas:txmode none\n\n" + index,
		})
		t.Run("OK", func(t *testing.T) {
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			require.Equal(t, []string{"1_a.sql", "2_index.sql"}, rep.Applied)
			st, err := migrate.Status(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			require.True(t, st.OK(), "%+v", st)
		})
	})
}

func TestApplyConcurrentSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	var (
		wg      sync.WaitGroup
		reports = make([]migrate.Report, 3)
		errs    = make([]error, 3)
		dbs     = make([]*app.Database, 3)
	)
	for i := range dbs {
		db, err := app.OpenSQLite(ctx, path)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	for i := range dbs {
		wg.Go(func() { reports[i], errs[i] = migrate.Apply(ctx, dbs[i].DB, dialect.SQLite) })
	}
	wg.Wait()
	total := 0
	for i := range reports {
		require.NoError(t, errs[i])
		total += len(reports[i].Applied)
	}
	require.Equal(t, len(dirFiles(t, dialect.SQLite)), total, "each file applied exactly once")
	st, err := migrate.Status(ctx, dbs[0].DB, dialect.SQLite)
	require.NoError(t, err)
	require.True(t, st.OK(), "%+v", st)
}
