package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver

	"atrium/internal/app"
	"atrium/internal/migrate"
	"atrium/internal/rls"
	"atrium/migrations"
)

// NamedDB is a database with the name of its dialect, for table-driven tests
// over every available database.
type NamedDB struct {
	Name string // "sqlite" or "postgres"
	*app.Database
}

// Open returns the database for use in a subtest. It is the database
// Databases created: it lives until the test that called Databases ends,
// which is after all of that test's subtests, parallel ones included.
func (n NamedDB) Open(tb testing.TB) *app.Database {
	tb.Helper()
	return n.Database
}

// Databases returns a fresh migrated SQLite database and, when PostgreSQL is
// available, a fresh migrated PostgreSQL database:
//
//	for _, db := range testkit.Databases(t) {
//		t.Run(db.Name, func(t *testing.T) { … db.Client … })
//	}
//
// A missing PostgreSQL is logged (and counted in Main's summary) rather than
// skipping the whole test; with ATRIUM_TEST_REQUIRE_SERVICES=1 it fails.
func Databases(tb testing.TB) []NamedDB {
	tb.Helper()
	dbs := []NamedDB{{"sqlite", SQLite(tb)}}
	if _, err := postgresServer(); err != nil {
		if requireServices() {
			tb.Fatalf("testkit: PostgreSQL is required (ATRIUM_TEST_REQUIRE_SERVICES=1) but unavailable: %v", err)
		}
		stateMu.Lock()
		skipped["PostgreSQL"]++
		stateMu.Unlock()
		tb.Logf("testkit: SKIPPED the PostgreSQL half of %s: %v", tb.Name(), err)
		return dbs
	}
	return append(dbs, NamedDB{"postgres", Postgres(tb)})
}

// SQLite returns a new SQLite database file in tb.TempDir() with the real
// migrations applied, closed when the test ends.
func SQLite(tb testing.TB) *app.Database {
	tb.Helper()
	announce("SQLite", "file per test in the test's temp dir (modernc.org/sqlite)")
	ctx := context.Background()
	db, err := app.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "atrium.db"))
	if err != nil {
		tb.Fatalf("testkit: open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := migrate.Apply(ctx, db.DB, dialect.SQLite); err != nil {
		tb.Fatalf("testkit: migrate sqlite: %v", err)
	}
	return db
}

// Postgres returns a new PostgreSQL database with the real migrations
// applied, cloned from a per-process template and dropped when the test
// ends. It skips the test when no PostgreSQL is available (fails in CI).
func Postgres(tb testing.TB) *app.Database {
	tb.Helper()
	u := newPostgresDB(tb, true)
	db, err := sql.Open(rls.DriverName, u)
	if err != nil {
		tb.Fatalf("testkit: open postgres: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	// The production stack: row-level security and the bounded pool. The
	// acquire wait is generous: a loaded test machine is not an outage.
	d, err := app.OpenPostgres(context.Background(), db, app.PoolOptions{
		MaxConns: 8, MaxIdleConns: 8, AcquireTimeout: time.Minute,
	})
	if err != nil {
		tb.Fatalf("testkit: connect postgres: %v", err)
	}
	return d
}

// MigratedPostgresURL returns the URL of a new PostgreSQL database with the
// real migrations applied, dropped when the test ends: for tests that open
// it their own way (app.OpenPostgres). It skips the test when no PostgreSQL
// is available (fails in CI).
func MigratedPostgresURL(tb testing.TB) string {
	tb.Helper()
	return newPostgresDB(tb, true)
}

// PostgresURL returns the URL of a new, empty PostgreSQL database (no
// migrations applied), dropped when the test ends: for tests of migrations
// themselves. It skips the test when no PostgreSQL is available (fails in CI).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return newPostgresDB(tb, false)
}

// newPostgresDB creates a database, from the migrated template or empty, and
// returns its URL.
func newPostgresDB(tb testing.TB, migrated bool) string {
	tb.Helper()
	srv, err := postgresServer()
	if err != nil {
		missing(tb, "PostgreSQL", err)
	}
	ctx := context.Background()
	stmt := "CREATE DATABASE %s"
	if migrated {
		tmpl, err := srv.template()
		if err != nil {
			tb.Fatalf("testkit: postgres template: %v", err)
		}
		stmt += " TEMPLATE " + tmpl
	}
	name := "atrium_test_" + randomHex(6)
	if _, err := srv.admin.ExecContext(ctx, fmt.Sprintf(stmt, name)); err != nil {
		tb.Fatalf("testkit: create database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := srv.admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testkit: drop database %s: %v", name, err)
		}
	})
	return withDatabase(srv.url, name)
}

func withDatabase(u *url.URL, name string) string {
	c := *u
	c.Path = "/" + name
	return c.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// pgServer is the PostgreSQL server of this test binary.
type pgServer struct {
	url   *url.URL // maintenance database, superuser
	admin *sql.DB

	tmplOnce sync.Once
	tmplName string
	tmplErr  error
}

var (
	pgOnce sync.Once
	pgSrv  *pgServer
	pgErr  error
)

func postgresServer() (*pgServer, error) {
	pgOnce.Do(func() { pgSrv, pgErr = startPostgres() })
	return pgSrv, pgErr
}

func startPostgres() (*pgServer, error) {
	if raw := os.Getenv("ATRIUM_TEST_DATABASE_URL"); raw != "" {
		srv, err := connectPostgres(raw)
		if err != nil {
			return nil, fmt.Errorf("ATRIUM_TEST_DATABASE_URL: %w", err)
		}
		announce("PostgreSQL", "real server from ATRIUM_TEST_DATABASE_URL ("+srv.url.Host+")")
		return srv, nil
	}
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	raw, err := throwawayPostgres(bin)
	if err != nil {
		return nil, fmt.Errorf("start throwaway PostgreSQL from %s: %w", bin, err)
	}
	srv, err := connectPostgres(raw)
	if err != nil {
		return nil, err
	}
	announce("PostgreSQL", "throwaway server from "+bin+" at "+srv.url.Host)
	return srv, nil
}

func connectPostgres(raw string) (*pgServer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	onStop(func() { db.Close() })
	return &pgServer{url: u, admin: db}, nil
}

// postgresBin finds the directory with initdb and postgres: the newest
// /usr/lib/postgresql/*/bin, else PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no ATRIUM_TEST_DATABASE_URL and no PostgreSQL binaries (initdb) found")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// throwawayPostgres initialises and starts a server in a temp dir and returns
// its superuser URL. It runs until the test binary ends.
func throwawayPostgres(bin string) (string, error) {
	p, err := initPostgres(bin, "max_connections=300")
	if err != nil {
		return "", err
	}
	onStop(p.remove)
	if err := p.start(); err != nil {
		return "", err
	}
	return p.url(), nil
}

// pgProc is one PostgreSQL server process on its own data directory and
// port; it can be stopped and started again on both.
type pgProc struct {
	bin, dir, data string
	port           int
	cred           *syscall.Credential
	settings       []string // extra -c name=value

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// initPostgres creates a data directory in a temp dir with initdb. PostgreSQL
// refuses to run as root, so as root it runs as the postgres OS user.
func initPostgres(bin string, settings ...string) (*pgProc, error) {
	sweepTempDirs("atrium-pg-")
	dir, err := ownedTempDir("atrium-pg-")
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &pgProc{bin: bin, dir: dir, data: data, port: port, cred: cred, settings: settings}, nil
}

func (p *pgProc) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// start starts the server and waits until it accepts connections.
func (p *pgProc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("postgres already running")
	}
	logf, err := os.OpenFile(filepath.Join(p.dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := []string{"-D", p.data, "-p", strconv.Itoa(p.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=64MB"}
	for _, kv := range p.settings {
		args = append(args, "-c", kv)
	}
	srv := exec.Command(filepath.Join(p.bin, "postgres"), args...)
	srv.Dir = p.dir
	srv.Stdout, srv.Stderr = logf, logf
	// Pdeathsig: the server dies with the test binary even without Main.
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := srv.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); logf.Close(); close(exited) }()
	p.cmd, p.exited = srv, exited
	db, err := sql.Open("pgx", p.url())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
			p.cmd = nil
			return fmt.Errorf("postgres exited: %s", log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections in 30s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down like `pg_ctl stop -m fast` (SIGINT: clients are
// disconnected, open transactions roll back) and waits for it to exit.
func (p *pgProc) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// remove stops the server and deletes its directory.
func (p *pgProc) remove() {
	p.stop()
	os.RemoveAll(p.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// migrationsHash identifies the embedded migrations: a changed directory
// gets a new template.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// template returns the name of the migrated template database, building it
// once per server: processes (test binaries) running at the same time agree
// through an advisory lock, and the name carries the migrations' hash.
func (s *pgServer) template() (string, error) {
	s.tmplOnce.Do(func() { s.tmplName, s.tmplErr = s.buildTemplate() })
	return s.tmplName, s.tmplErr
}

func (s *pgServer) buildTemplate() (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "atrium_tmpl_" + sum
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	seed := sha256.Sum256([]byte("atrium testkit template"))
	key := int64(binary.BigEndian.Uint64(seed[:8]))
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key)
	var isTemplate sql.NullBool
	err = conn.QueryRowContext(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate.Bool:
		return name, nil // built by an earlier or concurrent test binary
	case err == nil:
		// A build that did not finish: start over.
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			return "", err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	db, err := sql.Open("pgx", withDatabase(s.url, name))
	if err != nil {
		return "", err
	}
	_, err = migrate.Apply(ctx, db, dialect.Postgres)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("apply migrations to template: %w", err)
	}
	// Marking it a template is also the "build finished" flag.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true"); err != nil {
		return "", err
	}
	s.dropStaleTemplates(ctx, conn, name)
	return name, nil
}

// dropStaleTemplates removes templates of older migration directories.
func (s *pgServer) dropStaleTemplates(ctx context.Context, conn *sql.Conn, keep string) {
	rows, err := conn.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'atrium\\_tmpl\\_%' AND datname <> $1", keep)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			stale = append(stale, n)
		}
	}
	rows.Close()
	for _, n := range stale {
		conn.ExecContext(ctx, "ALTER DATABASE "+n+" WITH IS_TEMPLATE false")
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)")
	}
}
