// Package migrate applies, inspects and generates Atrium's versioned
// migrations with the atlas Go library.
//
// The migration directories live in migrations/ (embedded into the binary) in
// Atlas format with an atlas.sum. Revisions are recorded in a table identical
// to the atlas CLI's atlas_schema_revisions, under the same advisory lock, so
// `atrium migrate apply` and `atlas migrate apply` can take turns on one
// database.
package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"

	"atrium/migrations"
)

// LockName is the advisory lock the atlas CLI takes while applying.
const LockName = "atlas_migrate_execute"

// OperatorVersion is recorded in each revision this package writes; the CLI
// writes "Atlas CLI vX" there.
const OperatorVersion = "atrium migrate (atlas-go v0.32)"

// DirName returns the migrations/ subdirectory of a dialect.
func DirName(dia string) (string, error) {
	switch dia {
	case dialect.Postgres:
		return "postgres", nil
	case dialect.SQLite:
		return "sqlite", nil
	default:
		return "", fmt.Errorf("migrate: unsupported dialect %q", dia)
	}
}

// Dir returns the embedded migration directory of a dialect.
func Dir(dia string) (migrate.Dir, error) {
	name, err := DirName(dia)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrations.FS, name)
	if err != nil {
		return nil, err
	}
	return memDir(sub)
}

// memDir copies an fs.FS directory into a private atlas MemDir.
func memDir(fsys fs.FS) (*migrate.MemDir, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	dir := &migrate.MemDir{}
	for _, e := range entries {
		if e.IsDir() || (path.Ext(e.Name()) != ".sql" && e.Name() != migrate.HashFileName) {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		if err := dir.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// Option configures Apply.
type Option func(*options)

type options struct {
	baseline    string
	dryRun      io.Writer
	log         *slog.Logger
	dir         migrate.Dir
	lockTimeout time.Duration
}

// WithBaseline marks every file up to and including version as applied
// without running it, on a database that has no revisions yet (one whose
// schema was created before Atrium tracked it).
func WithBaseline(version string) Option { return func(o *options) { o.baseline = version } }

// WithDryRun writes the plan (files and statements) to w and changes nothing.
func WithDryRun(w io.Writer) Option { return func(o *options) { o.dryRun = w } }

// WithLogger logs each file and statement as it runs.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithDir applies another directory than the embedded one (tests).
func WithDir(d migrate.Dir) Option { return func(o *options) { o.dir = d } }

// Report tells what Apply did (or, in a dry run, would do).
type Report struct {
	Dialect    string
	From       string        // last version applied before, "" for none
	To         string        // last version applied after
	Baseline   string        // version marked as baseline, if any
	Applied    []string      // names of the files applied (or planned in a dry run)
	Statements int           // statements executed (or planned)
	Analyzed   int           // tables analysed after the files were applied (PostgreSQL)
	Duration   time.Duration // wall time, lock wait included
	DryRun     bool
}

// openDriver opens the atlas driver of a dialect on q.
func openDriver(q schema.ExecQuerier, dia string) (migrate.Driver, error) {
	switch dia {
	case dialect.Postgres:
		return postgres.Open(q)
	case dialect.SQLite:
		return sqlite.Open(q)
	default:
		return nil, fmt.Errorf("migrate: unsupported dialect %q", dia)
	}
}

// Apply applies the pending migration files of the dialect's directory, each
// file in its own transaction, recording revisions like the atlas CLI.
//
// On PostgreSQL it holds the CLI's advisory lock (atlas_migrate_execute) for
// the whole run, so concurrent deployers, with either tool, take turns. On
// SQLite it flocks "<database file>-migrate.lock" instead (the CLI's SQLite
// lock is one file in the temp dir for every database, and fails rather than
// waits).
func Apply(ctx context.Context, db *sql.DB, dia string, opts ...Option) (Report, error) {
	start := time.Now()
	o := options{lockTimeout: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	rep := Report{Dialect: dia, DryRun: o.dryRun != nil}
	dir := o.dir
	if dir == nil {
		var err error
		if dir, err = Dir(dia); err != nil {
			return rep, err
		}
	}
	drv, err := openDriver(db, dia)
	if err != nil {
		return rep, err
	}
	unlock, err := lock(ctx, db, drv, dia, o.lockTimeout)
	if err != nil {
		return rep, err
	}
	defer unlock()
	rrw := &revisions{q: db, dialect: dia, readOnly: o.dryRun != nil}
	exists, err := revisionTableExists(ctx, db, dia)
	if err != nil {
		return rep, fmt.Errorf("migrate: %w", err)
	}
	var revs []*migrate.Revision
	switch {
	case exists:
		if revs, err = rrw.ReadRevisions(ctx); err != nil {
			return rep, fmt.Errorf("migrate: read revisions: %w", err)
		}
	case o.dryRun == nil:
		if err := ensureRevisionTable(ctx, db, drv, dia); err != nil {
			return rep, fmt.Errorf("migrate: %w", err)
		}
	}
	if n := len(revs); n > 0 {
		rep.From = revs[n-1].Version
	}
	rep.To = rep.From
	var exOpts []migrate.ExecutorOption
	exOpts = append(exOpts, migrate.WithOperatorVersion(OperatorVersion), migrate.WithLogger(logger{o.log}))
	if o.baseline != "" {
		exOpts = append(exOpts, migrate.WithBaselineVersion(o.baseline))
	}
	var pending []migrate.File
	if exists || o.dryRun == nil {
		ex, err := migrate.NewExecutor(drv, dir, rrw, exOpts...)
		if err != nil {
			return rep, err
		}
		pending, err = ex.Pending(ctx)
		if err != nil && !errors.Is(err, migrate.ErrNoPendingFiles) {
			return rep, fmt.Errorf("migrate: %w", err)
		}
	} else {
		// A dry run on a database without a revision table: everything after
		// the baseline is pending, as the executor would decide.
		if pending, err = dryRunPending(ctx, drv, dir, rrw, o.baseline); err != nil {
			return rep, err
		}
	}
	if o.baseline != "" && len(revs) == 0 {
		rep.Baseline = o.baseline
		rep.To = o.baseline
	}
	if o.dryRun != nil {
		return dryRun(o.dryRun, drv, rep, pending, start)
	}
	for _, f := range pending {
		n, err := applyFile(ctx, db, dia, dir, f, exOpts)
		if errors.Is(err, errApplied) {
			continue // applied meanwhile by a concurrent Apply (SQLite)
		}
		if err != nil {
			rep.Duration = time.Since(start)
			return rep, err
		}
		rep.Applied = append(rep.Applied, f.Name())
		rep.Statements += n
		rep.To = f.Version()
	}
	if len(rep.Applied) > 0 && dia == dialect.Postgres {
		n, err := analyze(ctx, db)
		if err != nil {
			rep.Duration = time.Since(start)
			return rep, fmt.Errorf("migrate: analyze: %w", err)
		}
		rep.Analyzed = n
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// analyze refreshes the planner statistics of every table in the current
// schema after a migration changed them. A new or rewritten table, a new
// column or index has no statistics until autovacuum gets to it, and until
// then PostgreSQL plans with guesses: issue #12 measured the owner lookup of
// POST /authz/check at 7,000 checks/s before and 87,000 after ANALYZE (it
// picked the (tenant_id, id) index and read the whole tenant). ANALYZE
// samples (30,000 rows per table by default), so it is quick on a large
// database too, and it takes no lock that blocks reads or writes.
func analyze(ctx context.Context, db *sql.DB) (int, error) {
	tables, err := analyzeListed(ctx, db, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname = current_schema() ORDER BY tablename`)
	return len(tables), err
}

// execQuerier is *sql.DB or *sql.Tx.
type execQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// analyzeListed analyzes the tables that list (a query of one column,
// names quoted by format's %I) names, in one ANALYZE, and returns them.
func analyzeListed(ctx context.Context, q execQuerier, list string) ([]string, error) {
	rows, err := q.QueryContext(ctx, list)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, nil
	}
	// The names come from the catalog, quoted by format's %I.
	if _, err := q.ExecContext(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
		return nil, err
	}
	return tables, nil
}

// lock takes Apply's lock: the CLI's advisory lock on PostgreSQL, a flock
// beside the database file on SQLite.
func lock(ctx context.Context, db *sql.DB, drv migrate.Driver, dia string, timeout time.Duration) (func(), error) {
	switch dia {
	case dialect.Postgres:
		unlock, err := drv.(schema.Locker).Lock(ctx, LockName, timeout)
		if err != nil {
			return nil, fmt.Errorf("migrate: acquire lock %q: %w", LockName, err)
		}
		return func() { unlock() }, nil
	case dialect.SQLite:
		unlock, err := lockSQLite(ctx, db, timeout)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		return unlock, nil
	default:
		return nil, fmt.Errorf("migrate: unsupported dialect %q", dia)
	}
}

// dryRunPending computes the pending files without a revision table.
func dryRunPending(ctx context.Context, drv migrate.Driver, dir migrate.Dir, rrw *revisions, baseline string) ([]migrate.File, error) {
	if err := migrate.Validate(dir); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	files, err := dir.Files()
	if err != nil {
		return nil, err
	}
	if baseline == "" {
		if err := drv.CheckClean(ctx, rrw.Ident()); err != nil {
			return nil, fmt.Errorf("migrate: %w. baseline version is required", err)
		}
		return files, nil
	}
	i := migrate.FilesLastIndex(files, func(f migrate.File) bool { return f.Version() == baseline })
	if i == -1 {
		return nil, fmt.Errorf("migrate: baseline version %q not found", baseline)
	}
	return files[i+1:], nil
}

func dryRun(w io.Writer, drv migrate.Driver, rep Report, pending []migrate.File, start time.Time) (Report, error) {
	if rep.Baseline != "" {
		fmt.Fprintf(w, "-- baseline: mark versions up to %s as applied\n", rep.Baseline)
	}
	if len(pending) == 0 {
		fmt.Fprintln(w, "-- no pending migration files")
	}
	for _, f := range pending {
		stmts, err := fileStmts(drv, f)
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(w, "-- migrating version %s (%s): %d statements\n", f.Version(), f.Name(), len(stmts))
		for _, s := range stmts {
			fmt.Fprintf(w, "%s\n", s)
		}
		rep.Applied = append(rep.Applied, f.Name())
		rep.Statements += len(stmts)
		rep.To = f.Version()
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func fileStmts(drv migrate.Driver, f migrate.File) ([]string, error) {
	if sc, ok := drv.(migrate.StmtScanner); ok {
		stmts, err := sc.ScanStmts(string(f.Bytes()))
		if err != nil {
			return nil, fmt.Errorf("migrate: scan %s: %w", f.Name(), err)
		}
		out := make([]string, len(stmts))
		for i, s := range stmts {
			out[i] = s.Text
		}
		return out, nil
	}
	return f.Stmts()
}

// applyFile runs one file in a transaction. When it fails, the transaction is
// rolled back and the revision is recorded with its error and zero statements
// applied, so `status` shows it and the next apply retries the whole file.
func applyFile(ctx context.Context, db *sql.DB, dia string, dir migrate.Dir, f migrate.File, exOpts []migrate.ExecutorOption) (int, error) {
	if txModeNone(f) {
		return applyNoTx(ctx, db, dia, dir, f, exOpts)
	}
	var (
		rrw     *revisions
		execErr error // the file's own failure, recorded in its revision
	)
	err := inFileTx(ctx, db, dia, f.Name(), func(tx *sql.Tx) error {
		drv, err := openDriver(tx, dia)
		if err != nil {
			return err
		}
		rrw = &revisions{q: tx, dialect: dia}
		switch r, err := rrw.ReadRevision(ctx, f.Version()); {
		case err != nil && !errors.Is(err, migrate.ErrRevisionNotExist):
			return fmt.Errorf("migrate: read revision %s: %w", f.Version(), err)
		case err != nil:
		case r.Applied == r.Total && r.Error == "":
			// Another Apply got here first: on SQLite nothing but the write
			// transaction (BEGIN IMMEDIATE) serialises appliers.
			return errApplied
		case r.Applied == 0:
			// A failed earlier attempt left a record with nothing applied (its
			// transaction rolled back): start afresh, as the file may have been
			// fixed and its statement count changed.
			if err := rrw.DeleteRevision(ctx, f.Version()); err != nil {
				return fmt.Errorf("migrate: reset failed revision %s: %w", f.Version(), err)
			}
		}
		ex, err := migrate.NewExecutor(drv, dir, rrw, exOpts...)
		if err != nil {
			return err
		}
		if execErr = ex.Execute(ctx, f); execErr != nil {
			return fmt.Errorf("migrate: %s: %w", f.Name(), execErr)
		}
		return nil
	})
	if execErr != nil {
		if rev := rrw.last; rev != nil {
			rev.Applied, rev.PartialHashes = 0, nil
			if rev.Error == "" {
				rev.Error = execErr.Error()
			}
			outer := &revisions{q: db, dialect: dia}
			if werr := outer.WriteRevision(ctx, rev); werr != nil {
				err = errors.Join(err, fmt.Errorf("record failed revision: %w", werr))
			}
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if rrw.last == nil {
		return 0, nil
	}
	return rrw.last.Applied, nil
}

// inFileTx runs f, the statements of one file (a migration or a down script),
// in a transaction, committed when f returns nil and rolled back otherwise.
//
// On SQLite, like the atlas CLI, foreign keys are off during the file (the
// pragma is a no-op inside a transaction, and atlas rebuilds a changed table by
// copy, drop and rename) and checked with foreign_key_check before commit; the
// transaction runs on a dedicated connection, whose pragma is restored after.
func inFileTx(ctx context.Context, db *sql.DB, dia, name string, f func(*sql.Tx) error) (err error) {
	var tx *sql.Tx
	if dia == dialect.SQLite {
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = off"); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = on"); rerr != nil {
				// Never hand a connection without foreign keys back to the pool.
				conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("migrate: restore foreign_keys: %w", rerr))
			}
		}()
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("migrate: begin %s: %w", name, err)
		}
	} else if tx, err = db.BeginTx(ctx, nil); err != nil {
		return fmt.Errorf("migrate: begin %s: %w", name, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if dia == dialect.SQLite {
		if err := foreignKeyCheck(ctx, tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate: %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit %s: %w", name, err)
	}
	return nil
}

// errApplied reports a file found applied once its transaction began.
var errApplied = errors.New("migrate: already applied")

// txModeNone reports the atlas directive "-- atlas:txmode none" at the top of
// a file, for statements that cannot run in a transaction (CREATE INDEX
// CONCURRENTLY).
func txModeNone(f migrate.File) bool {
	d, ok := f.(interface{ Directive(string) []string })
	if !ok {
		return false
	}
	ds := d.Directive("txmode")
	return len(ds) == 1 && ds[0] == "none"
}

// applyNoTx runs a file statement by statement outside a transaction; the
// revision records each statement, so a failed file resumes where it stopped.
func applyNoTx(ctx context.Context, db *sql.DB, dia string, dir migrate.Dir, f migrate.File, exOpts []migrate.ExecutorOption) (int, error) {
	drv, err := openDriver(db, dia)
	if err != nil {
		return 0, err
	}
	rrw := &revisions{q: db, dialect: dia}
	ex, err := migrate.NewExecutor(drv, dir, rrw, exOpts...)
	if err != nil {
		return 0, err
	}
	if err := ex.Execute(ctx, f); err != nil {
		return 0, fmt.Errorf("migrate: %s: %w", f.Name(), err)
	}
	if rrw.last == nil {
		return 0, nil
	}
	return rrw.last.Applied, nil
}

// foreignKeyCheck fails when SQLite reports rows violating a foreign key.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var (
			table, parent string
			rowid, fkid   sql.NullInt64
		)
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		vs = append(vs, fmt.Sprintf("%s row %d -> %s", table, rowid.Int64, parent))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(vs) > 0 {
		return fmt.Errorf("foreign key violations: %s", strings.Join(vs, "; "))
	}
	return nil
}

// logger adapts atlas log entries to slog.
type logger struct{ l *slog.Logger }

func (l logger) Log(e migrate.LogEntry) {
	if l.l == nil {
		return
	}
	switch e := e.(type) {
	case migrate.LogFile:
		l.l.Info("migrate: applying file", "file", e.File.Name(), "skip", e.Skip)
	case migrate.LogStmt:
		l.l.Debug("migrate: statement", "sql", e.SQL)
	case migrate.LogError:
		l.l.Error("migrate: failed", "sql", e.SQL, "err", e.Error)
	}
}
