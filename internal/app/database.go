package app

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"atrium/ent"
	_ "atrium/ent/runtime" // ent privacy policies and hooks; without it ent fails closed
	"atrium/internal/config"
	"atrium/internal/rls"
	"atrium/internal/telemetry"
)

// Database is an open database: the ent client and the raw handle migrations use.
type Database struct {
	Client  *ent.Client
	DB      *sql.DB
	Dialect string // dialect.Postgres or dialect.SQLite
}

// Close closes the database.
func (d *Database) Close() error { return d.Client.Close() }

// OpenDatabase opens the configured database: PostgreSQL through pgx when a URL
// is set, else the embedded SQLite file in the data dir.
func OpenDatabase(ctx context.Context, cfg *config.Config) (*Database, error) {
	if cfg.IsPostgres() {
		cc, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// pgx logs (failed connections and statements) through slog.
		cc.Tracer = telemetry.PgxTracer()
		db := rls.OpenDB(*cc)
		return OpenPostgres(ctx, db, PoolOptionsFrom(cfg))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return OpenSQLite(ctx, cfg.SQLitePath())
}

// OpenSQLite opens (creating) an SQLite database file with the pragmas Atrium
// relies on: foreign keys, WAL and a busy timeout.
func OpenSQLite(ctx context.Context, path string) (*Database, error) {
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return wrap(ctx, db, dialect.SQLite)
}

// OpenPostgres sizes db's pool and returns it as a Database whose ent client
// runs every statement under row-level security (internal/rls) and waits at
// most o.AcquireTimeout for a connection (then fails with
// fault.ErrPoolTimeout, which the API answers with 503 and Retry-After).
// Migrations use DB directly: the connecting role, outside the limit.
func OpenPostgres(ctx context.Context, db *sql.DB, o PoolOptions) (*Database, error) {
	o.apply(db)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect.Postgres, err)
	}
	// Spans outermost: a statement's span includes its wait for a slot.
	drv := telemetry.TraceDriver(newLimitedDriver(rls.New(db).WithLockTimeout(o.LockTimeout), o.MaxConns, o.AcquireTimeout))
	return &Database{Client: ent.NewClient(ent.Driver(drv)), DB: db, Dialect: dialect.Postgres}, nil
}

func wrap(ctx context.Context, db *sql.DB, dia string) (*Database, error) {
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dia, err)
	}
	return &Database{Client: NewClient(db, dia), DB: db, Dialect: dia}, nil
}

// NewClient returns the ent client the server uses over db, its statements
// and transactions traced (internal/telemetry). On PostgreSQL
// every statement goes through internal/rls: it runs as the role rls.Role
// with the viewer's tenant set for the row-level security policies. DB (the
// raw handle) stays the connecting role's, for migrations.
func NewClient(db *sql.DB, dia string) *ent.Client {
	if dia == dialect.Postgres {
		return ent.NewClient(ent.Driver(telemetry.TraceDriver(rls.New(db))))
	}
	return ent.NewClient(ent.Driver(telemetry.TraceDriver(entsql.OpenDB(dia, db))))
}
