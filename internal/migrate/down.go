package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"atrium/migrations"
)

// DownDirName is the subdirectory of a dialect's directory holding the down
// scripts: down/<V>_<name>.sql reverts <V>_<name>.sql. The atlas CLI reads only
// the top level of a migration directory and atlas.sum does not cover it, so
// both tools keep working on the directory.
const DownDirName = "down"

// DownDir returns the embedded down scripts of a dialect (empty when the
// dialect has none yet).
func DownDir(dia string) (*migrate.MemDir, error) {
	name, err := DirName(dia)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrations.FS, name+"/"+DownDirName)
	if err != nil {
		return nil, err
	}
	return downDir(sub)
}

// downDir reads the down scripts at the root of fsys.
func downDir(fsys fs.FS) (*migrate.MemDir, error) {
	d, err := memDir(fsys)
	if errors.Is(err, fs.ErrNotExist) {
		return &migrate.MemDir{}, nil
	}
	return d, err
}

// DownOption configures Down.
type DownOption func(*downOptions)

type downOptions struct {
	to          string
	dryRun      io.Writer
	log         *slog.Logger
	fsys        fs.FS
	lockTimeout time.Duration
}

// WithTo reverts every applied version newer than v, newest first; "0"
// reverts them all. Without it Down reverts the last applied version only.
func WithTo(v string) DownOption { return func(o *downOptions) { o.to = v } }

// WithDownDryRun writes the plan (versions and statements) to w and changes
// nothing.
func WithDownDryRun(w io.Writer) DownOption { return func(o *downOptions) { o.dryRun = w } }

// WithDownLogger logs each down script and statement as it runs.
func WithDownLogger(l *slog.Logger) DownOption { return func(o *downOptions) { o.log = l } }

// WithDownFS reads the down scripts from the root of fsys instead of the
// embedded down/ directory (tests).
func WithDownFS(fsys fs.FS) DownOption { return func(o *downOptions) { o.fsys = fsys } }

// DownReport tells what Down did (or, in a dry run, would do).
type DownReport struct {
	Dialect    string
	From       string        // last version applied before, "" for none
	To         string        // last version applied after, "" for none
	Reverted   []string      // names of the down scripts run (or planned), newest first
	Statements int           // statements executed (or planned)
	Duration   time.Duration // wall time, lock wait included
	DryRun     bool
}

// downStep is one version to revert.
type downStep struct {
	rev   *migrate.Revision
	file  migrate.File
	stmts []string
}

// Down reverts applied migrations by running their down scripts, newest
// first: the last applied version, or with WithTo every version newer than
// the one given. Each down script runs in one transaction together with the
// deletion of its version's revision, so the file is pending again for both
// `atrium migrate` and the atlas CLI.
//
// It holds the same lock as Apply, and checks everything before it runs
// anything: it refuses when the last revision failed (fix the file and apply
// first), when a version to revert is a baseline (its schema was never
// created by a migration file) or has no down script, and when the target is
// not a known version.
func Down(ctx context.Context, db *sql.DB, dia string, opts ...DownOption) (DownReport, error) {
	start := time.Now()
	o := downOptions{lockTimeout: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	rep := DownReport{Dialect: dia, DryRun: o.dryRun != nil}
	var (
		scripts *migrate.MemDir
		err     error
	)
	if o.fsys != nil {
		scripts, err = downDir(o.fsys)
	} else {
		scripts, err = DownDir(dia)
	}
	if err != nil {
		return rep, fmt.Errorf("migrate: read down scripts: %w", err)
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

	var revs []*migrate.Revision
	switch exists, err := revisionTableExists(ctx, db, dia); {
	case err != nil:
		return rep, fmt.Errorf("migrate: %w", err)
	case exists:
		if revs, err = (&revisions{q: db, dialect: dia}).ReadRevisions(ctx); err != nil {
			return rep, fmt.Errorf("migrate: read revisions: %w", err)
		}
	}
	steps, err := planDown(drv, revs, scripts, o.to)
	if err != nil {
		return rep, err
	}
	if n := len(revs); n > 0 {
		rep.From = revs[n-1].Version
	}
	rep.To = rep.From
	if o.dryRun != nil {
		if len(steps) == 0 {
			fmt.Fprintln(o.dryRun, "-- nothing to revert")
		}
		for _, s := range steps {
			fmt.Fprintf(o.dryRun, "-- reverting version %s (%s): %d statements\n", s.rev.Version, s.file.Name(), len(s.stmts))
			for _, stmt := range s.stmts {
				fmt.Fprintf(o.dryRun, "%s\n", stmt)
			}
			rep.note(s, revs)
		}
		rep.Duration = time.Since(start)
		return rep, nil
	}
	for _, s := range steps {
		if err := revert(ctx, db, dia, s, o.log); err != nil {
			rep.Duration = time.Since(start)
			return rep, err
		}
		rep.note(s, revs)
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// note records a reverted step: the version before it is now the last.
func (rep *DownReport) note(s downStep, revs []*migrate.Revision) {
	rep.Reverted = append(rep.Reverted, s.file.Name())
	rep.Statements += len(s.stmts)
	rep.To = ""
	if i := slices.Index(revs, s.rev); i > 0 {
		rep.To = revs[i-1].Version
	}
}

// planDown picks the revisions to revert, newest first, and their down
// scripts, refusing before anything runs when one cannot be reverted.
func planDown(drv migrate.Driver, revs []*migrate.Revision, scripts migrate.Dir, to string) ([]downStep, error) {
	files, err := scripts.Files()
	if err != nil {
		return nil, fmt.Errorf("migrate: read down scripts: %w", err)
	}
	byVersion := make(map[string]migrate.File, len(files))
	for _, f := range files {
		if _, dup := byVersion[f.Version()]; dup {
			return nil, fmt.Errorf("migrate: two down scripts for version %s", f.Version())
		}
		byVersion[f.Version()] = f
	}
	n := len(revs)
	if n > 0 {
		if last := revs[n-1]; last.Type&migrate.RevisionTypeBaseline == 0 && (last.Error != "" || last.Applied < last.Total) {
			return nil, fmt.Errorf("migrate: version %s failed or is partially applied (%d of %d statements): fix it and resume with `atrium migrate apply` before reverting anything", last.Version, last.Applied, last.Total)
		}
	}
	var todo []*migrate.Revision
	switch {
	case to == "":
		if n == 0 {
			return nil, nil
		}
		todo = revs[n-1:]
	case to == "0":
		todo = revs
	default:
		_, script := byVersion[to]
		if !script && !slices.ContainsFunc(revs, func(r *migrate.Revision) bool { return r.Version == to }) {
			return nil, fmt.Errorf("migrate: unknown version %q: want an applied version, or 0 to revert everything", to)
		}
		for j, r := range revs {
			if r.Version > to {
				todo = revs[j:]
				break
			}
		}
	}
	steps := make([]downStep, 0, len(todo))
	for i := len(todo) - 1; i >= 0; i-- {
		r := todo[i]
		if r.Type&migrate.RevisionTypeBaseline != 0 {
			return nil, fmt.Errorf("migrate: version %s is a baseline: its schema predates Atrium's migrations, and no down script runs for it", r.Version)
		}
		f, ok := byVersion[r.Version]
		if !ok {
			return nil, fmt.Errorf("migrate: version %s (%s) has no down script %s/%s_%s.sql", r.Version, r.Description, DownDirName, r.Version, r.Description)
		}
		if f.Desc() != r.Description {
			return nil, fmt.Errorf("migrate: down script %s does not match the applied file %s_%s.sql", f.Name(), r.Version, r.Description)
		}
		if txModeNone(f) {
			return nil, fmt.Errorf("migrate: down script %s: txmode none is not supported: a down script runs in one transaction with its revision", f.Name())
		}
		stmts, err := fileStmts(drv, f)
		if err != nil {
			return nil, err
		}
		steps = append(steps, downStep{rev: r, file: f, stmts: stmts})
	}
	return steps, nil
}

// revert runs one down script and deletes its revision in one transaction.
func revert(ctx context.Context, db *sql.DB, dia string, s downStep, log *slog.Logger) error {
	if log != nil {
		log.Info("migrate: reverting", "version", s.rev.Version, "file", s.file.Name())
	}
	return inFileTx(ctx, db, dia, s.file.Name(), func(tx *sql.Tx) error {
		rrw := &revisions{q: tx, dialect: dia}
		// Apply and Down hold the lock, but a SQLite database in memory has
		// none: make sure the revision is still the one planned.
		switch r, err := rrw.ReadRevision(ctx, s.rev.Version); {
		case errors.Is(err, migrate.ErrRevisionNotExist):
			return fmt.Errorf("migrate: revision %s vanished while reverting", s.rev.Version)
		case err != nil:
			return fmt.Errorf("migrate: read revision %s: %w", s.rev.Version, err)
		case r.Hash != s.rev.Hash || r.Applied != s.rev.Applied:
			return fmt.Errorf("migrate: revision %s changed while reverting", s.rev.Version)
		}
		for _, stmt := range s.stmts {
			if log != nil {
				log.Debug("migrate: statement", "sql", stmt)
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				if log != nil {
					log.Error("migrate: failed", "sql", stmt, "err", err)
				}
				return fmt.Errorf("migrate: down %s: %q: %w", s.file.Name(), firstLine(stmt), err)
			}
		}
		if err := rrw.DeleteRevision(ctx, s.rev.Version); err != nil {
			return fmt.Errorf("migrate: delete revision %s: %w", s.rev.Version, err)
		}
		return nil
	})
}

// firstLine shortens a statement for an error message.
func firstLine(s string) string {
	line, _, more := strings.Cut(s, "\n")
	if len(line) > 120 {
		line, more = line[:120], true
	}
	if more {
		line += "…"
	}
	return line
}

// PlanDown drafts the down script of the file of a directory with the given
// version: it replays the files before it on an empty dev database, inspects
// the schema, applies the file, inspects again and plans the change back,
// formatted like the atlas CLI's files.
//
// Only the schema is reversed: the data statements of the file (a seed, a
// backfill) are not, and the script says so; review and edit it before
// committing it. devURL is only used on PostgreSQL ("" means
// DefaultPostgresDevURL); that database is dropped and recreated first. SQLite
// plans in memory.
func PlanDown(ctx context.Context, dia, devURL string, dir migrate.Dir, version string) (string, error) {
	files, err := dir.Files()
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(files, func(f migrate.File) bool { return f.Version() == version })
	if i < 0 {
		return "", fmt.Errorf("migrate: no migration file with version %q", version)
	}
	f := files[i]
	diffMu.Lock() // the dev database is Diff's too
	defer diffMu.Unlock()
	dev, err := openDev(ctx, dia, devURL)
	if err != nil {
		return "", err
	}
	defer dev.Close()
	drv, err := openDriver(dev, dia)
	if err != nil {
		return "", err
	}
	for _, g := range files[:i] {
		if _, err := replay(ctx, drv, g); err != nil {
			return "", err
		}
	}
	before, err := inspectRealm(ctx, drv, dia)
	if err != nil {
		return "", err
	}
	stmts, err := replay(ctx, drv, f)
	if err != nil {
		return "", err
	}
	after, err := inspectRealm(ctx, drv, dia)
	if err != nil {
		return "", err
	}
	changes, err := drv.RealmDiff(after, before)
	if err != nil {
		return "", fmt.Errorf("migrate: diff %s: %w", f.Name(), err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- Down script of %s, planned by `atrium migrate down-plan %s`.\n", f.Name(), version)
	if data := dataStmts(stmts); data > 0 {
		fmt.Fprintf(&b, "-- REVIEW: the file has %d data statement(s) (INSERT, UPDATE, DELETE) that a\n-- schema diff does not reverse; write their reverse here by hand.\n", data)
	}
	if len(changes) == 0 {
		b.WriteString("-- The file changes no schema.\n")
		return b.String(), nil
	}
	var opts []migrate.PlanOption
	if unqualified(dia, before, after) {
		opts = append(opts, func(o *migrate.PlanOptions) { o.SchemaQualifier = new(string) })
	}
	plan, err := drv.PlanChanges(ctx, "down", changes, opts...)
	if err != nil {
		return "", fmt.Errorf("migrate: plan down of %s: %w", f.Name(), err)
	}
	out, err := migrate.DefaultFormatter.Format(plan)
	if err != nil {
		return "", err
	}
	for _, o := range out {
		b.Write(o.Bytes())
	}
	return b.String(), nil
}

// replay runs a file's statements on a dev database, outside a transaction
// (PRAGMA foreign_keys works there, and so does txmode none).
func replay(ctx context.Context, drv migrate.Driver, f migrate.File) ([]string, error) {
	stmts, err := fileStmts(drv, f)
	if err != nil {
		return nil, err
	}
	for _, s := range stmts {
		if _, err := drv.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("migrate: replay %s: %q: %w", f.Name(), firstLine(s), err)
		}
	}
	return stmts, nil
}

// inspectRealm inspects a database without the revision table.
func inspectRealm(ctx context.Context, drv migrate.Driver, dia string) (*schema.Realm, error) {
	exclude := "*." + RevisionTable
	if dia == dialect.Postgres {
		exclude = RevisionTable // the schema of the same name
	}
	r, err := drv.InspectRealm(ctx, &schema.InspectRealmOption{Exclude: []string{exclude}})
	if err != nil {
		return nil, fmt.Errorf("migrate: inspect: %w", err)
	}
	return r, nil
}

// unqualified reports whether the planned statements may leave out the
// schema, as the generated migration files do: always on SQLite, and on
// PostgreSQL when both states hold one and the same schema (the connection's).
func unqualified(dia string, before, after *schema.Realm) bool {
	if dia == dialect.SQLite {
		return true
	}
	return len(before.Schemas) == 1 && len(after.Schemas) == 1 && before.Schemas[0].Name == after.Schemas[0].Name
}

// dataStmts counts the statements that change rows rather than the schema.
func dataStmts(stmts []string) int {
	n := 0
	for _, s := range stmts {
		w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
		switch strings.ToUpper(w) {
		case "INSERT", "UPDATE", "DELETE", "MERGE", "COPY":
			n++
		}
	}
	return n
}
