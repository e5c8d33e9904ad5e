package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	entmigrate "atrium/ent/migrate"
)

// DefaultPostgresDevURL is the dev database Diff and Check use on PostgreSQL.
// It is dropped and recreated on every use: never point it at real data.
const DefaultPostgresDevURL = "postgres://postgres@127.0.0.1:5432/atrium_dev?sslmode=disable"

// ErrNoChanges is returned by Diff when the directory already matches the ent
// schema.
var ErrNoChanges = errors.New("migrate: no schema changes")

// DiffOption configures Diff, Check, NewFile and Hash.
type DiffOption func(*diffOptions)

type diffOptions struct {
	root    string
	version string
}

// WithRoot sets the folder holding postgres/ and sqlite/ (default
// "migrations", relative to the working directory: the repository root).
func WithRoot(path string) DiffOption { return func(o *diffOptions) { o.root = path } }

// WithVersion sets the version of the file written, so that the files of both
// dialects from one run carry the same version. It must sort after every
// version in the directory.
func WithVersion(v string) DiffOption { return func(o *diffOptions) { o.version = v } }

func diffOpts(opts []DiffOption) diffOptions {
	o := diffOptions{root: "migrations"}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// LocalDir opens the on-disk directory of a dialect.
func LocalDir(dia string, opts ...DiffOption) (*migrate.LocalDir, error) {
	name, err := DirName(dia)
	if err != nil {
		return nil, err
	}
	o := diffOpts(opts)
	p := filepath.Join(o.root, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return nil, err
	}
	return migrate.NewLocalDir(p)
}

// NextVersion returns a version (UTC timestamp) newer than every file of the
// given directories.
func NextVersion(dirs ...migrate.Dir) (string, error) {
	v := time.Now().UTC().Format("20060102150405")
	for _, d := range dirs {
		files, err := d.Files()
		if err != nil {
			return "", err
		}
		if n := len(files); n > 0 && files[n-1].Version() >= v {
			last, err := strconv.ParseUint(files[n-1].Version(), 10, 64)
			if err != nil {
				return "", fmt.Errorf("migrate: version %q is not numeric", files[n-1].Version())
			}
			v = strconv.FormatUint(last+1, 10)
		}
	}
	return v, nil
}

// NextVersionOf is NextVersion over the on-disk directories of dialects.
func NextVersionOf(dias []string, opts ...DiffOption) (string, error) {
	var dirs []migrate.Dir
	for _, d := range dias {
		dir, err := LocalDir(d, opts...)
		if err != nil {
			return "", err
		}
		dirs = append(dirs, dir)
	}
	return NextVersion(dirs...)
}

// versionFormatter is atlas' default format with a chosen version.
type versionFormatter struct{ version string }

func (f versionFormatter) Format(p *migrate.Plan) ([]migrate.File, error) {
	p.Version = f.version
	return migrate.DefaultFormatter.Format(p)
}

// diffMu serialises diffs: ent's table setup mutates the shared
// atrium/ent/migrate.Tables.
var diffMu sync.Mutex

// Diff replays the dialect's directory on an empty dev database, compares the
// result with the ent schema and writes the difference as the next migration
// file named name, rehashing atlas.sum. It returns ErrNoChanges when there is
// nothing to write.
//
// devURL is only used on PostgreSQL ("" means DefaultPostgresDevURL); that
// database is dropped and recreated first. SQLite diffs in memory.
func Diff(ctx context.Context, dia, devURL, name string, opts ...DiffOption) error {
	dir, err := LocalDir(dia, opts...)
	if err != nil {
		return err
	}
	if err := migrate.Validate(dir); err != nil {
		return fmt.Errorf("migrate: %s: %w (rehash with `atrium migrate hash` after editing a file by hand)", dir.Path(), err)
	}
	o := diffOpts(opts)
	if o.version == "" {
		if o.version, err = NextVersion(dir); err != nil {
			return err
		}
	}
	return diff(ctx, dia, devURL, name, dir, o.version)
}

func diff(ctx context.Context, dia, devURL, name string, dir migrate.Dir, version string) error {
	diffMu.Lock()
	defer diffMu.Unlock()
	dev, err := openDev(ctx, dia, devURL)
	if err != nil {
		return err
	}
	defer dev.Close()
	m, err := entschema.NewMigrate(entsql.OpenDB(dia, dev),
		entschema.WithDir(dir),
		entschema.WithMigrationMode(entschema.ModeReplay),
		entschema.WithDialect(dia),
		entschema.WithFormatter(versionFormatter{version}),
		entschema.WithDropColumn(true),
		entschema.WithDropIndex(true),
		entschema.WithErrNoPlan(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	switch err := m.NamedDiff(ctx, name, entmigrate.Tables...); {
	case errors.Is(err, migrate.ErrNoPlan):
		return ErrNoChanges
	case err != nil:
		return fmt.Errorf("migrate: diff %s: %w", dia, err)
	}
	return nil
}

// openDev opens an empty dev database.
func openDev(ctx context.Context, dia, devURL string) (*sql.DB, error) {
	switch dia {
	case dialect.SQLite:
		db, err := sql.Open("sqlite", "file:atrium-dev?mode=memory&_pragma=foreign_keys(1)")
		if err != nil {
			return nil, err
		}
		// One connection: an in-memory database lives and dies with it.
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return db, db.PingContext(ctx)
	case dialect.Postgres:
		if devURL == "" {
			devURL = DefaultPostgresDevURL
		}
		if err := ResetPostgres(ctx, devURL); err != nil {
			return nil, err
		}
		db, err := sql.Open("pgx", devURL)
		if err != nil {
			return nil, err
		}
		return db, db.PingContext(ctx)
	default:
		return nil, fmt.Errorf("migrate: unsupported dialect %q", dia)
	}
}

// ResetPostgres drops and recreates the database a URL names, connecting to
// the server's "postgres" database to do so.
func ResetPostgres(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("migrate: dev url: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" || name == "template0" || name == "template1" {
		return fmt.Errorf("migrate: dev url must name a scratch database, not %q", name)
	}
	admin := *u
	admin.Path = "/postgres"
	db, err := sql.Open("pgx", admin.String())
	if err != nil {
		return err
	}
	defer db.Close()
	ident := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	for _, q := range []string{"DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)", "CREATE DATABASE " + ident} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrate: reset dev database %s: %w", name, err)
		}
	}
	return nil
}

// Check verifies the on-disk directory of a dialect: atlas.sum matches the
// files, and replaying them yields exactly the ent schema (a fresh diff would
// write nothing). It never writes to the directory.
func Check(ctx context.Context, dia, devURL string, opts ...DiffOption) error {
	local, err := LocalDir(dia, opts...)
	if err != nil {
		return err
	}
	if err := migrate.Validate(local); err != nil {
		return fmt.Errorf("migrate: %s: %w", local.Path(), err)
	}
	files, err := local.Files()
	if err != nil {
		return err
	}
	mem := &migrate.MemDir{}
	if err := mem.CopyFiles(files); err != nil {
		return err
	}
	sum, err := mem.Checksum()
	if err != nil {
		return err
	}
	if err := migrate.WriteSumFile(mem, sum); err != nil {
		return err
	}
	version, err := NextVersion(mem)
	if err != nil {
		return err
	}
	switch err := diff(ctx, dia, devURL, "pending", mem, version); {
	case errors.Is(err, ErrNoChanges):
		return nil
	case err != nil:
		return err
	}
	after, err := mem.Files()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range after[len(files):] {
		b.Write(f.Bytes())
	}
	return fmt.Errorf("migrate: %s is behind the ent schema; run `make migrate-diff NAME=…`. Missing:\n%s", local.Path(), b.String())
}

// Verify compares a live database with the ent schema and fails listing the
// statements that would reconcile them: after Apply it must pass, or the
// migrations and the ent schema disagree. Only ent's tables are compared.
func Verify(ctx context.Context, db *sql.DB, dia string) error {
	diffMu.Lock()
	defer diffMu.Unlock()
	dir := &migrate.MemDir{}
	m, err := entschema.NewMigrate(entsql.OpenDB(dia, db),
		entschema.WithDir(dir),
		entschema.WithDialect(dia),
		entschema.WithFormatter(migrate.DefaultFormatter),
		entschema.WithDropColumn(true),
		entschema.WithDropIndex(true),
		entschema.WithErrNoPlan(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	switch err := m.NamedDiff(ctx, "drift", entmigrate.Tables...); {
	case errors.Is(err, migrate.ErrNoPlan):
		return nil
	case err != nil:
		return fmt.Errorf("migrate: verify %s: %w", dia, err)
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range files {
		b.Write(f.Bytes())
	}
	return fmt.Errorf("migrate: the %s database differs from the ent schema:\n%s", dia, b.String())
}

// NewFile writes a hand-written migration file (a data migration) as the next
// version of the dialect's directory and rehashes atlas.sum. It returns the
// file's name.
func NewFile(dia, name, content string, opts ...DiffOption) (string, error) {
	dir, err := LocalDir(dia, opts...)
	if err != nil {
		return "", err
	}
	if err := migrate.Validate(dir); err != nil {
		return "", fmt.Errorf("migrate: %s: %w", dir.Path(), err)
	}
	o := diffOpts(opts)
	if o.version == "" {
		if o.version, err = NextVersion(dir); err != nil {
			return "", err
		}
	}
	file := o.version + "_" + name + ".sql"
	if err := dir.WriteFile(file, []byte(content)); err != nil {
		return "", err
	}
	return file, hash(dir)
}

// Hash rewrites atlas.sum of the dialect's directory after a hand edit, like
// `atlas migrate hash`.
func Hash(dia string, opts ...DiffOption) error {
	dir, err := LocalDir(dia, opts...)
	if err != nil {
		return err
	}
	return hash(dir)
}

func hash(dir migrate.Dir) error {
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return migrate.WriteSumFile(dir, sum)
}
