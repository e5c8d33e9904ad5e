package testkit

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"atrium/internal/migrate"
)

// DedicatedPostgres is a PostgreSQL server of one test's own, started from
// the local binaries, for tests that stop it, restart it or exhaust its
// connections: never the shared server. It is removed when the test ends.
type DedicatedPostgres struct {
	p *pgProc
}

// NewDedicatedPostgres initialises and starts a server with the given extra
// settings ("max_connections=12") and a database "atrium" with the real
// migrations applied. It skips the test without PostgreSQL binaries (fails
// with ATRIUM_TEST_REQUIRE_SERVICES=1).
func NewDedicatedPostgres(tb testing.TB, settings ...string) *DedicatedPostgres {
	tb.Helper()
	bin, err := postgresBin()
	if err != nil {
		missing(tb, "PostgreSQL binaries (dedicated server)", err)
	}
	p, err := initPostgres(bin, settings...)
	if err != nil {
		tb.Fatalf("testkit: init dedicated postgres: %v", err)
	}
	tb.Cleanup(p.remove)
	if err := p.start(); err != nil {
		tb.Fatalf("testkit: start dedicated postgres: %v", err)
	}
	admin, err := sql.Open("pgx", p.url())
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	defer admin.Close()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE atrium"); err != nil {
		tb.Fatalf("testkit: create database: %v", err)
	}
	db, err := sql.Open("pgx", withDatabase(mustParse(p.url()), "atrium"))
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	defer db.Close()
	if _, err := migrate.Apply(ctx, db, dialect.Postgres); err != nil {
		tb.Fatalf("testkit: migrate dedicated postgres: %v", err)
	}
	return &DedicatedPostgres{p: p}
}

// URL is the superuser URL of the migrated database "atrium".
func (d *DedicatedPostgres) URL() string { return withDatabase(mustParse(d.p.url()), "atrium") }

// Stop shuts the server down as `pg_ctl stop -m fast` does and waits for it
// to exit: connections are closed, new ones refused.
func (d *DedicatedPostgres) Stop() { d.p.stop() }

// Start starts the stopped server again on the same data and port and waits
// until it accepts connections.
func (d *DedicatedPostgres) Start(tb testing.TB) {
	tb.Helper()
	if err := d.p.start(); err != nil {
		tb.Fatalf("testkit: restart dedicated postgres: %v", err)
	}
}

// Log returns the server's log, for a failing test to print.
func (d *DedicatedPostgres) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.p.dir, "postgres.log"))
	return string(b)
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// Blackhole is a TCP proxy in front of a server (Redis) that forwards until
// Freeze. Frozen, it behaves like a hung server or a partition that drops
// packets: it accepts connections and reads what clients send, but forwards
// and answers nothing. It keeps what it swallowed so a test can count the
// commands clients tried to send.
type Blackhole struct {
	ln     net.Listener
	target string
	frozen atomic.Bool

	mu        sync.Mutex
	conns     []net.Conn
	swallowed bytes.Buffer
	wg        sync.WaitGroup
}

// NewBlackhole starts a proxy to target (host:port) and returns it; Addr is
// where clients connect. It is closed when the test ends.
func NewBlackhole(tb testing.TB, target string) *Blackhole {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testkit: blackhole: %v", err)
	}
	b := &Blackhole{ln: ln, target: target}
	b.wg.Add(1)
	go b.accept()
	tb.Cleanup(b.close)
	return b
}

// Addr is the proxy's address.
func (b *Blackhole) Addr() string { return b.ln.Addr().String() }

// Freeze stops forwarding, on open connections and new ones.
func (b *Blackhole) Freeze() { b.frozen.Store(true) }

// Swallowed counts how often word (a command name such as "publish", any
// case) appears as a RESP bulk string among the bytes received while frozen.
func (b *Blackhole) Swallowed(word string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(strings.ToLower(b.swallowed.String()), "\r\n"+strings.ToLower(word)+"\r\n")
}

func (b *Blackhole) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		var up net.Conn
		if !b.frozen.Load() {
			if up, err = net.DialTimeout("tcp", b.target, 5*time.Second); err != nil {
				c.Close()
				continue
			}
			b.mu.Lock()
			b.conns = append(b.conns, up)
			b.mu.Unlock()
		}
		b.wg.Add(2)
		go b.pipe(c, up, true)
		go b.pipe(up, c, false)
	}
}

// pipe copies src to dst until frozen; from the client side, what is read
// while frozen is kept.
func (b *Blackhole) pipe(src, dst net.Conn, fromClient bool) {
	defer b.wg.Done()
	if src == nil {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if b.frozen.Load() {
				if fromClient {
					b.mu.Lock()
					b.swallowed.Write(buf[:n])
					b.mu.Unlock()
				}
			} else if dst != nil {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if dst != nil && !b.frozen.Load() {
				dst.Close()
			}
			return
		}
	}
}

func (b *Blackhole) close() {
	b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}
