package migrate_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

// TestDownScripts: every migration file has a down script of the same name,
// and every down script a migration file.
func TestDownScripts(t *testing.T) {
	t.Parallel()
	for _, dia := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(dia, func(t *testing.T) {
			t.Parallel()
			names := func(files []atlasmigrate.File) []string {
				out := make([]string, len(files))
				for i, f := range files {
					out[i] = f.Name()
				}
				return out
			}
			down, err := migrate.DownDir(dia)
			require.NoError(t, err)
			scripts, err := down.Files()
			require.NoError(t, err)
			require.Equal(t, names(dirFiles(t, dia)), names(scripts), "migrations/<dialect>/down must mirror migrations/<dialect>")
		})
	}
}

// TestDownRoundTrip applies the dialect's directory one file at a time,
// recording the schema after each, then reverts it one version at a time and
// requires the schema (and the system roles) each version left, and finally
// applies everything again.
func TestDownRoundTrip(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		files := dirFiles(t, e.dialect)
		full, err := migrate.Dir(e.dialect)
		require.NoError(t, err)

		realms := []*schema.Realm{inspect(t, e)}
		roles := []string{systemRoles(t, e)}
		for i, f := range files {
			rep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dirOf(t, files[:i+1])))
			require.NoError(t, err)
			require.Equal(t, []string{f.Name()}, rep.Applied)
			realms = append(realms, inspect(t, e))
			roles = append(roles, systemRoles(t, e))
		}
		for i := len(files); i > 0; i-- {
			rep, err := migrate.Down(ctx, e.db, e.dialect)
			require.NoError(t, err, files[i-1].Name())
			require.Equal(t, []string{files[i-1].Name()}, rep.Reverted)
			require.Equal(t, files[i-1].Version(), rep.From)
			requireRealm(t, e, realms[i-1], files[i-1].Name())
			require.Equal(t, roles[i-1], systemRoles(t, e), "system roles after reverting %s", files[i-1].Name())
			require.Equal(t, versions(files[:i-1]), appliedVersions(t, e))
			st, err := migrate.Status(ctx, e.db, e.dialect, migrate.WithDir(full))
			require.NoError(t, err)
			require.Len(t, st.PendingFiles, len(files)-i+1)
			require.Equal(t, files[i-1].Name(), st.PendingFiles[0])
		}
		rep, err := migrate.Apply(ctx, e.db, e.dialect)
		require.NoError(t, err)
		require.Len(t, rep.Applied, len(files))
		requireRealm(t, e, realms[len(files)], "apply after down")
		require.Equal(t, roles[len(files)], systemRoles(t, e))
	})
}

func TestDown(t *testing.T) {
	t.Parallel()
	up := map[string]string{
		"1_a.sql": "CREATE TABLE a (x integer);\n",
		"2_b.sql": "CREATE TABLE b (x integer);\nINSERT INTO b VALUES (1);\n",
		"3_c.sql": "CREATE TABLE c (x integer);\n",
	}
	down := fstest.MapFS{
		"1_a.sql": {Data: []byte("DROP TABLE a;\n")},
		"2_b.sql": {Data: []byte("DROP TABLE b;\n")},
		"3_c.sql": {Data: []byte("-- Drop \"c\" table\nDROP TABLE c;\n")},
	}
	// setup applies up on a fresh database of the dialect.
	setup := func(t *testing.T, e emptyDB) {
		t.Helper()
		_, err := migrate.Apply(context.Background(), e.db, e.dialect, migrate.WithDir(memDir(t, up)))
		require.NoError(t, err)
	}
	ctx := context.Background()

	t.Run("OKLast", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			rep, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down))
			require.NoError(t, err)
			require.Equal(t, migrate.DownReport{Dialect: e.dialect, From: "3", To: "2", Reverted: []string{"3_c.sql"}, Statements: 1, Duration: rep.Duration}, rep)
			require.Equal(t, []string{"1", "2"}, appliedVersions(t, e))
			require.False(t, tableExists(t, e, "c"))
			require.True(t, tableExists(t, e, "b"))
		})
	})
	t.Run("OKTo", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			rep, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down), migrate.WithTo("1"))
			require.NoError(t, err)
			require.Equal(t, []string{"3_c.sql", "2_b.sql"}, rep.Reverted)
			require.Equal(t, "1", rep.To)
			require.Equal(t, []string{"1"}, appliedVersions(t, e))

			rep, err = migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down), migrate.WithTo("1"))
			require.NoError(t, err)
			require.Empty(t, rep.Reverted, "nothing newer than 1 is left")

			rep, err = migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down), migrate.WithTo("0"))
			require.NoError(t, err)
			require.Equal(t, []string{"1_a.sql"}, rep.Reverted)
			require.Equal(t, "", rep.To)
			require.Empty(t, appliedVersions(t, e))
			require.False(t, tableExists(t, e, "a"))

			rep, err = migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down))
			require.NoError(t, err)
			require.Empty(t, rep.Reverted, "nothing applied")

			// The database is clean again: Apply starts over without a baseline.
			arep, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(memDir(t, up)))
			require.NoError(t, err)
			require.Len(t, arep.Applied, 3)
		})
	})
	t.Run("OKDryRunChangesNothing", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			before := inspect(t, e)
			var buf bytes.Buffer
			rep, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down), migrate.WithTo("0"), migrate.WithDownDryRun(&buf))
			require.NoError(t, err)
			require.True(t, rep.DryRun)
			require.Equal(t, []string{"3_c.sql", "2_b.sql", "1_a.sql"}, rep.Reverted)
			require.Equal(t, 3, rep.Statements)
			require.Contains(t, buf.String(), "-- reverting version 3 (3_c.sql): 1 statements\nDROP TABLE c;\n")
			require.Less(t, strings.Index(buf.String(), "3_c.sql"), strings.Index(buf.String(), "1_a.sql"))
			require.Equal(t, []string{"1", "2", "3"}, appliedVersions(t, e))
			requireRealm(t, e, before, "dry run")
		})
	})
	t.Run("ErrFailedLatest", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			broken := map[string]string{"4_d.sql": "CREATE TABLE d (x integer);\nINSERT INTO nope VALUES (1);\n"}
			for k, v := range up {
				broken[k] = v
			}
			_, err := migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(memDir(t, broken)))
			require.ErrorContains(t, err, "nope")
			before := inspect(t, e)
			scripts := fstest.MapFS{"4_d.sql": {Data: []byte("DROP TABLE d;\n")}}
			for k, v := range down {
				scripts[k] = v
			}
			for _, opts := range [][]migrate.DownOption{nil, {migrate.WithTo("2")}} {
				_, err = migrate.Down(ctx, e.db, e.dialect, append(opts, migrate.WithDownFS(scripts))...)
				require.ErrorContains(t, err, "version 4 failed")
				require.ErrorContains(t, err, "apply")
			}
			require.Equal(t, []string{"1", "2", "3", "4"}, appliedVersions(t, e))
			requireRealm(t, e, before, "refused down")
		})
	})
	t.Run("ErrBaseline", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			// Tables a and b predate the revisions: adopt them with a baseline.
			_, err := e.db.ExecContext(ctx, up["1_a.sql"]+up["2_b.sql"])
			require.NoError(t, err)
			_, err = migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(memDir(t, up)), migrate.WithBaseline("2"))
			require.NoError(t, err)
			before := inspect(t, e)

			for _, to := range []string{"0", "1"} {
				_, err = migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down), migrate.WithTo(to))
				require.ErrorContains(t, err, "baseline", "to %s", to)
			}
			requireRealm(t, e, before, "refused down")
			require.Equal(t, []string{"2", "3"}, appliedVersions(t, e))

			rep, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down))
			require.NoError(t, err)
			require.Equal(t, []string{"3_c.sql"}, rep.Reverted)
			_, err = migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down))
			require.ErrorContains(t, err, "version 2 is a baseline")
			require.True(t, tableExists(t, e, "b"))
			require.Equal(t, []string{"2"}, appliedVersions(t, e))
		})
	})
	t.Run("ErrUnknownVersion", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			_, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(down), migrate.WithTo("42"))
			require.ErrorContains(t, err, `unknown version "42"`)
			require.Equal(t, []string{"1", "2", "3"}, appliedVersions(t, e))
		})
	})
	t.Run("ErrMissingScript", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			partial := fstest.MapFS{"1_a.sql": down["1_a.sql"], "3_c.sql": down["3_c.sql"]}
			_, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(partial), migrate.WithTo("0"))
			require.ErrorContains(t, err, "version 2 (b) has no down script down/2_b.sql")
			require.True(t, tableExists(t, e, "c"), "nothing ran, not even the down script of 3")
			require.Equal(t, []string{"1", "2", "3"}, appliedVersions(t, e))
		})
	})
	t.Run("ErrScriptOfAnotherFile", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			other := fstest.MapFS{"3_other.sql": down["3_c.sql"]}
			_, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(other))
			require.ErrorContains(t, err, "down script 3_other.sql does not match the applied file 3_c.sql")
			require.True(t, tableExists(t, e, "c"))
		})
	})
	t.Run("ErrScriptFailsRolledBack", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, e emptyDB) {
			setup(t, e)
			bad := fstest.MapFS{"3_c.sql": {Data: []byte("DROP TABLE c;\nDROP TABLE nope;\n")}}
			_, err := migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(bad))
			require.ErrorContains(t, err, "nope")
			require.True(t, tableExists(t, e, "c"), "rolled back")
			require.Equal(t, []string{"1", "2", "3"}, appliedVersions(t, e))
		})
	})
}

// TestDownSQLiteForeignKeys: a down script runs with foreign keys off, like a
// migration file, and is checked before commit.
func TestDownSQLiteForeignKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up := map[string]string{
		"1_p.sql": "CREATE TABLE p (id integer PRIMARY KEY);\nINSERT INTO p VALUES (1);\n",
		"2_c.sql": "CREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL REFERENCES p (id));\nINSERT INTO c VALUES (1, 1);\n",
	}
	down := fstest.MapFS{
		// Rebuild p as atlas does: the copy, drop and rename need foreign keys off.
		"2_c.sql": {Data: []byte("PRAGMA foreign_keys = off;\nDROP TABLE c;\nCREATE TABLE new_p (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0);\nINSERT INTO new_p (id) SELECT id FROM p;\nDROP TABLE p;\nALTER TABLE new_p RENAME TO p;\nPRAGMA foreign_keys = on;\n")},
		"1_p.sql": {Data: []byte("DELETE FROM p;\n")},
	}
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		db := emptySQLite(t)
		_, err := migrate.Apply(ctx, db, dialect.SQLite, migrate.WithDir(memDir(t, up)))
		require.NoError(t, err)
		_, err = migrate.Down(ctx, db, dialect.SQLite, migrate.WithDownFS(down))
		require.NoError(t, err)
		var on int
		require.NoError(t, db.QueryRow("PRAGMA foreign_keys").Scan(&on))
		require.Equal(t, 1, on, "foreign keys are back on")
	})
	t.Run("ErrViolation", func(t *testing.T) {
		t.Parallel()
		db := emptySQLite(t)
		_, err := migrate.Apply(ctx, db, dialect.SQLite, migrate.WithDir(memDir(t, up)))
		require.NoError(t, err)
		// Deleting the parents of c's rows leaves them dangling.
		_, err = migrate.Down(ctx, db, dialect.SQLite, migrate.WithDownFS(fstest.MapFS{"2_c.sql": {Data: []byte("DELETE FROM p;\n")}}))
		require.ErrorContains(t, err, "foreign key violations")
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM p").Scan(&n))
		require.Equal(t, 1, n, "rolled back")
		require.Equal(t, []string{"1", "2"}, appliedVersions(t, emptyDB{dialect: dialect.SQLite, db: db}))
	})
}

func TestPlanDown(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, e emptyDB) {
		ctx := context.Background()
		dev := ""
		if e.dialect == dialect.Postgres {
			dev = testkit.PostgresURL(t) // PlanDown drops and recreates it
		}
		dir := memDir(t, map[string]string{
			"1_a.sql": "CREATE TABLE a (id integer NOT NULL, PRIMARY KEY (id));\n",
			"2_b.sql": "CREATE TABLE b (id integer NOT NULL, a_id integer NOT NULL, PRIMARY KEY (id), CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id));\nALTER TABLE a ADD COLUMN name text NULL;\nINSERT INTO a (id) VALUES (1);\n",
		})
		t.Run("OK", func(t *testing.T) {
			script, err := migrate.PlanDown(ctx, e.dialect, dev, dir, "2")
			require.NoError(t, err)
			require.Contains(t, script, "-- Down script of 2_b.sql")
			require.Contains(t, script, "1 data statement(s)")
			require.Contains(t, script, `-- Drop "b" table`)
			require.NotContains(t, script, "public.", "unqualified, like the migration files")
			require.NotContains(t, script, `"public"`)

			// Applying 2 and its planned down script leaves the schema of 1.
			_, err = migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dirOf(t, mustFiles(t, dir)[:1])))
			require.NoError(t, err)
			want := inspect(t, e)
			_, err = migrate.Apply(ctx, e.db, e.dialect, migrate.WithDir(dir))
			require.NoError(t, err)
			_, err = migrate.Down(ctx, e.db, e.dialect, migrate.WithDownFS(fstest.MapFS{"2_b.sql": {Data: []byte(script)}}))
			require.NoError(t, err)
			requireRealm(t, e, want, "planned down")
		})
		t.Run("OKNoSchemaChange", func(t *testing.T) {
			d := memDir(t, map[string]string{"1_a.sql": "CREATE TABLE a (id integer);\n", "2_seed.sql": "INSERT INTO a VALUES (1);\n"})
			script, err := migrate.PlanDown(ctx, e.dialect, dev, d, "2")
			require.NoError(t, err)
			require.Contains(t, script, "changes no schema")
			require.Contains(t, script, "REVIEW")
		})
		t.Run("ErrUnknownVersion", func(t *testing.T) {
			_, err := migrate.PlanDown(ctx, e.dialect, dev, dir, "9")
			require.ErrorContains(t, err, `no migration file with version "9"`)
		})
	})
}

// dirOf is a directory holding files and their atlas.sum.
func dirOf(t *testing.T, files []atlasmigrate.File) *atlasmigrate.MemDir {
	t.Helper()
	dir := &atlasmigrate.MemDir{}
	require.NoError(t, dir.CopyFiles(files))
	rehash(t, dir)
	return dir
}

func mustFiles(t *testing.T, dir atlasmigrate.Dir) []atlasmigrate.File {
	t.Helper()
	files, err := dir.Files()
	require.NoError(t, err)
	return files
}

func versions(files []atlasmigrate.File) []string {
	out := []string{}
	for _, f := range files {
		out = append(out, f.Version())
	}
	return out
}

// appliedVersions lists the versions of the revision table.
func appliedVersions(t *testing.T, e emptyDB) []string {
	t.Helper()
	rows, err := e.db.Query("SELECT version FROM " + revisionTable(e.dialect) + " ORDER BY version")
	require.NoError(t, err)
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func tableExists(t *testing.T, e emptyDB, name string) bool {
	t.Helper()
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if e.dialect == dialect.Postgres {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	}
	var n int
	require.NoError(t, e.db.QueryRow(q, name).Scan(&n))
	return n > 0
}

// systemRoles describes the system roles, "" before the roles table exists.
func systemRoles(t *testing.T, e emptyDB) string {
	t.Helper()
	if !tableExists(t, e, "roles") {
		return ""
	}
	rows, err := e.db.Query("SELECT id, description, permissions FROM roles WHERE tenant_id IS NULL ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, desc, perms string
		require.NoError(t, rows.Scan(&id, &desc, &perms))
		b.WriteString(id + " " + desc + " " + perms + "\n")
	}
	require.NoError(t, rows.Err())
	return b.String()
}

func atlasDriver(t *testing.T, e emptyDB) atlasmigrate.Driver {
	t.Helper()
	var (
		drv atlasmigrate.Driver
		err error
	)
	if e.dialect == dialect.Postgres {
		drv, err = postgres.Open(e.db)
	} else {
		drv, err = sqlite.Open(e.db)
	}
	require.NoError(t, err)
	return drv
}

// inspect inspects the database without the revision table.
func inspect(t *testing.T, e emptyDB) *schema.Realm {
	t.Helper()
	exclude := "*.atlas_schema_revisions"
	if e.dialect == dialect.Postgres {
		exclude = "atlas_schema_revisions"
	}
	r, err := atlasDriver(t, e).InspectRealm(context.Background(), &schema.InspectRealmOption{Exclude: []string{exclude}})
	require.NoError(t, err)
	return r
}

// requireRealm requires the database's schema to be want, listing the
// statements that would make it so otherwise.
func requireRealm(t *testing.T, e emptyDB, want *schema.Realm, after string) {
	t.Helper()
	drv := atlasDriver(t, e)
	changes, err := drv.RealmDiff(inspect(t, e), want)
	require.NoError(t, err)
	if len(changes) == 0 {
		return
	}
	var stmts []string
	if plan, err := drv.PlanChanges(context.Background(), "drift", changes); err == nil {
		for _, c := range plan.Changes {
			stmts = append(stmts, c.Cmd)
		}
	}
	t.Fatalf("after %s the schema differs from the recorded one by %d changes:\n%s", after, len(changes), strings.Join(stmts, "\n"))
}
