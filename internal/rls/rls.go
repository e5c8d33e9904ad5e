// Package rls is the second wall between tenants on PostgreSQL: an ent
// driver that runs every statement as the non-owner role Role, inside a
// transaction whose settings tell the row-level security policies (created
// by migration 20261203120000_row_level_security) who is asking.
//
// The settings, all transaction-local (set_config(..., true), i.e. SET
// LOCAL), come from the viewer in the statement's context:
//
//	role            Role, so the table owner's and a superuser's bypass ends
//	app.tenant_id   the tenant of a member viewer
//	app.user_id     the user of a member or self viewer (their sessions)
//	app.self_id     the user of a self viewer (viewer.ForUser): the rows that
//	                name them in any tenant, read only (their data export)
//	app.system      "on" for the system viewer (viewer.System), the one
//	                explicit bypass; its reason is counted by internal/viewer
//
// and, when the driver has one (WithLockTimeout), lock_timeout.
//
// A context without a viewer sets none of them, and the policies then match
// no row: a query that forgets the tenant returns nothing, never everything.
//
// A statement outside a transaction is sent in one batch after the
// statement that makes the settings: PostgreSQL runs a batch (a pipeline of
// extended-protocol messages ending in one Sync) as one implicit transaction,
// so the settings hold for the statement, end with it, and the batch commits
// at its end. One round trip, where BEGIN, the statement and COMMIT took
// three. Inside a transaction the settings are made before the first
// statement and made again before any statement whose viewer differs from
// the last one's, so a system write inside a member's transaction (the audit
// writer) runs as the system and the member's next statement as the member
// again. BEGIN and the settings go in the batch of the statement that needs
// them, so a transaction costs one round trip per statement plus COMMIT, and
// a transaction that runs no statement sends nothing.
//
// A statement can also wait for the transaction's next round trip
// (Deferred, deferred.go): the audit writer defers its chain's lock and
// append so that they go to PostgreSQL with COMMIT, in one batch.
//
// The batches need connections that send them: pools for Driver are opened
// with OpenDB or the DriverName driver (pipeline.go). Driver refuses any
// other pool (ErrPool) rather than run a statement without its settings.
//
// The ent privacy rules (internal/policy) stay the first wall; this one holds
// if a rule is missing or wrong. SQLite has no row-level security and keeps
// the ent wall only.
package rls

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"atrium/internal/viewer"
)

// Role is the PostgreSQL role the server's queries run as. The migration
// creates it (NOLOGIN, no BYPASSRLS) and grants it the tables; the connecting
// role must be a member of it (the migration grants membership to the role
// that runs it).
const Role = "atrium_app"

// setSQL makes the settings of a scope, transaction-local, from its
// arguments (scope.args): one statement text for every scope, so each
// connection prepares it once. setLockSQL also sets lock_timeout, from the
// driver's (WithLockTimeout).
var setSQL, setLockSQL = func() (string, string) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, name := range settingNames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "set_config('%s', $%d, true)", name, i+1)
	}
	plain := b.String()
	fmt.Fprintf(&b, ", set_config('lock_timeout', $%d, true)", len(settingNames)+1)
	return plain, b.String()
}()

// setStmt is the statement that makes the settings of scope s, and sets
// lock_timeout to lockTimeout unless it is "".
func setStmt(s scope, lockTimeout string) stmt {
	if lockTimeout == "" {
		return stmt{sql: setSQL, args: s.args(), wrap: ErrPrelude}
	}
	return stmt{sql: setLockSQL, args: append(s.args(), lockTimeout), wrap: ErrPrelude}
}

// settingNames are the settings of a scope, in the order of scope.args.
var settingNames = [...]string{"role", "app.tenant_id", "app.user_id", "app.self_id", "app.system"}

// scope is what the policies see; comparable, so a transaction knows when
// the viewer changed.
type scope struct {
	tenant, user, self uuid.UUID
	system             bool
}

func scopeOf(ctx context.Context) scope {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		return scope{}
	case v.IsSystem():
		return scope{system: true}
	case v.IsSelf():
		return scope{user: v.UserID, self: v.UserID}
	default:
		return scope{tenant: v.TenantID, user: v.UserID}
	}
}

func (s scope) args() []any {
	str := func(id uuid.UUID) string {
		if id == uuid.Nil {
			return ""
		}
		return id.String()
	}
	sys := ""
	if s.system {
		sys = "on"
	}
	// Room for setStmt's lock_timeout.
	args := make([]any, 0, len(settingNames)+1)
	return append(args, Role, str(s.tenant), str(s.user), str(s.self), sys)
}

// Driver is an ent dialect.Driver over a PostgreSQL pool that applies the
// viewer's scope to every statement. The pool must be opened with OpenDB or
// the DriverName driver: its connections send the settings and the statement
// in one batch. A statement on any other pool fails (ErrPool) rather than
// run without its settings.
type Driver struct {
	db          *sql.DB
	lockTimeout string      // lock_timeout of every statement ("": the server's)
	pooled      atomic.Bool // the pool's connections were checked
}

var _ dialect.Driver = (*Driver)(nil)

// ErrPool is the error of every statement when the pool was not opened with
// OpenDB or DriverName.
var ErrPool = errors.New("rls: the pool was not opened with rls.OpenDB or the " + DriverName + " driver")

// New returns the driver over db, a PostgreSQL pool opened with OpenDB or
// DriverName.
func New(db *sql.DB) *Driver { return &Driver{db: db} }

// WithLockTimeout makes every statement through d wait at most timeout for a
// lock (PostgreSQL's lock_timeout, set with the viewer's settings), then fail
// with SQLSTATE 55P03, which the API answers with 503 and Retry-After
// (internal/fault): a row or an audit chain held by a stuck transaction then
// costs a request its timeout, not its whole life and a pool connection. 0
// leaves PostgreSQL's setting. Migrations, which use the pool directly, are
// not affected.
func (d *Driver) WithLockTimeout(timeout time.Duration) *Driver {
	d.lockTimeout = ""
	if timeout > 0 {
		d.lockTimeout = strconv.FormatInt(max(timeout.Milliseconds(), 1), 10) + "ms"
	}
	return d
}

// Dialect implements dialect.Driver.
func (d *Driver) Dialect() string { return dialect.Postgres }

// Close implements dialect.Driver.
func (d *Driver) Close() error { return d.db.Close() }

// DB returns the pool (as entsql.Driver.DB does).
func (d *Driver) DB() *sql.DB { return d.db }

// conn takes a connection from the pool, checking (once) that it sends
// preludes.
func (d *Driver) conn(ctx context.Context) (*sql.Conn, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if d.pooled.Load() {
		return conn, nil
	}
	var ok bool
	_ = conn.Raw(func(dc any) error {
		_, ok = dc.(*pipeConn)
		return nil
	})
	if !ok {
		_ = conn.Close()
		return nil, ErrPool
	}
	d.pooled.Store(true)
	return conn, nil
}

// alone returns ctx whose statement runs in its own implicit transaction
// with the settings of ctx's scope, sent in one batch with it.
func (d *Driver) alone(ctx context.Context) context.Context {
	return withPrelude(ctx, []stmt{setStmt(scopeOf(ctx), d.lockTimeout)})
}

// Exec implements dialect.ExecQuerier: the statement runs in its own
// (implicit) transaction with the scope of ctx, one round trip.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) error {
	conn, err := d.conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return (entsql.Conn{ExecQuerier: conn}).Exec(d.alone(ctx), query, args, v)
}

// Query implements dialect.ExecQuerier: the statement runs in its own
// (implicit) transaction with the scope of ctx, one round trip; the
// transaction commits when the batch ends, which closing the rows reads
// (ent closes them; PostgreSQL's INSERT … RETURNING is a query too).
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	conn, err := d.conn(ctx)
	if err != nil {
		return err
	}
	if err := (entsql.Conn{ExecQuerier: conn}).Query(d.alone(ctx), query, args, v); err != nil {
		_ = conn.Close()
		return err
	}
	rows, ok := v.(*entsql.Rows)
	if !ok {
		_ = conn.Close()
		return fmt.Errorf("rls: query result %T", v)
	}
	rows.ColumnScanner = &connRows{ColumnScanner: rows.ColumnScanner, conn: conn}
	return nil
}

// connRows gives the statement's connection back when the rows are closed.
type connRows struct {
	entsql.ColumnScanner
	conn *sql.Conn
	done bool
}

func (r *connRows) Close() error {
	err := r.ColumnScanner.Close()
	if !r.done {
		r.done = true
		_ = r.conn.Close()
	}
	return err
}

// ExecContext is the raw statement of ent's sql/execquery feature, in its own
// (implicit) transaction with the scope of ctx.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	conn, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ExecContext(d.alone(ctx), query, args...)
}

// ErrQueryOutsideTx is returned by Driver.QueryContext: *sql.Rows cannot
// carry the connection that holds the scope, so raw queries run in a Tx.
var ErrQueryOutsideTx = errors.New("rls: a raw QueryContext needs a transaction (client.Tx) on PostgreSQL")

// QueryContext is the raw query of ent's sql/execquery feature. Outside a
// transaction it is refused (ErrQueryOutsideTx); use a Tx.
func (d *Driver) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, ErrQueryOutsideTx
}

// Tx implements dialect.Driver.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) { return d.begin(ctx, nil) }

// BeginTx starts a transaction with options (ent's Client.BeginTx).
func (d *Driver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	return d.begin(ctx, opts)
}

// begin takes a connection for a transaction. Nothing is sent yet: BEGIN goes
// with the settings and the first statement, in one round trip.
func (d *Driver) begin(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	beginSQL, err := beginStmt(opts)
	if err != nil {
		return nil, err
	}
	conn, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Tx{conn: conn, ctx: ctx, beginSQL: beginSQL, lockTimeout: d.lockTimeout}, nil
}

// beginStmt is the BEGIN of opts.
func beginStmt(opts *sql.TxOptions) (string, error) {
	if opts == nil {
		return "BEGIN", nil
	}
	var b string
	switch opts.Isolation {
	case sql.LevelDefault:
		b = "BEGIN"
	case sql.LevelReadCommitted:
		b = "BEGIN ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		b = "BEGIN ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		b = "BEGIN ISOLATION LEVEL SERIALIZABLE"
	default:
		return "", fmt.Errorf("rls: unsupported isolation level %v", opts.Isolation)
	}
	if opts.ReadOnly {
		b += " READ ONLY"
	}
	return b, nil
}

// Tx is a transaction whose statements each run with the scope of their own
// context. It holds one pooled connection (database/sql's Conn) from begin
// to its end and speaks BEGIN, COMMIT and ROLLBACK itself, so that BEGIN, the
// first settings and the first statement, and a change of settings and the
// statement that needs it, each take one round trip.
type Tx struct {
	conn        *sql.Conn
	ctx         context.Context // of begin: its end rolls the transaction back, as with sql.Tx
	beginSQL    string
	lockTimeout string // Driver.lockTimeout

	mu       sync.Mutex
	started  bool // BEGIN sent
	done     bool
	cur      scope
	deferred []deferred // statements for the next round trip (Deferred)
}

var _ dialect.Tx = (*Tx)(nil)

// run runs f, a statement on t.conn, with the context whose prelude holds
// BEGIN before the first statement and the settings of ctx's scope when they
// differ from the last ones.
func (t *Tx) run(ctx context.Context, f func(context.Context) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return sql.ErrTxDone
	}
	s := scopeOf(ctx)
	p, cur := t.pending()
	if s != cur {
		p = append(p, setStmt(s, t.lockTimeout))
	}
	err := f(withPrelude(ctx, p))
	switch {
	case err != nil && len(p) > 0:
		t.cur = unknownScope // set again before the next statement
	case len(p) > 0:
		t.cur = s
	}
	return err
}

// beginStmt is the transaction's BEGIN, as a prelude statement.
func (t *Tx) beginStmt() stmt { return stmt{sql: t.beginSQL, wrap: ErrPrelude} }

// Exec implements dialect.ExecQuerier. Under Deferred it defers an ent
// statement that wants no result back (v is nil: an insert of rows whose
// ids ent set itself); one that reads its result (an update or delete
// counting rows) is refused.
func (t *Tx) Exec(ctx context.Context, query string, args, v any) error {
	if isDeferred(ctx) {
		a, ok := args.([]any)
		if v != nil || (!ok && args != nil) {
			return errDeferredQuery
		}
		_, err := t.deferStmt(ctx, query, a)
		return err
	}
	return t.run(ctx, func(ctx context.Context) error {
		return (entsql.Conn{ExecQuerier: t.conn}).Exec(ctx, query, args, v)
	})
}

// Query implements dialect.ExecQuerier.
func (t *Tx) Query(ctx context.Context, query string, args, v any) error {
	if isDeferred(ctx) {
		return errDeferredQuery
	}
	return t.run(ctx, func(ctx context.Context) error {
		return (entsql.Conn{ExecQuerier: t.conn}).Query(ctx, query, args, v)
	})
}

// ExecContext runs a raw statement (ent's sql/execquery feature), or defers
// it to the transaction's next round trip when ctx is marked with Deferred.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	if isDeferred(ctx) {
		return t.deferStmt(ctx, query, args)
	}
	err = t.run(ctx, func(ctx context.Context) error {
		res, err = t.conn.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// QueryContext runs a raw query (ent's sql/execquery feature).
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (rows *sql.Rows, err error) {
	if isDeferred(ctx) {
		return nil, errDeferredQuery
	}
	err = t.run(ctx, func(ctx context.Context) error {
		rows, err = t.conn.QueryContext(ctx, query, args...)
		return err
	})
	return rows, err
}

// ErrCommitRolledBack is Commit's error when PostgreSQL answered COMMIT with
// ROLLBACK: a statement of the transaction had failed.
var ErrCommitRolledBack = errors.New("rls: commit unexpectedly resulted in rollback")

// Commit implements dialect.Tx.
func (t *Tx) Commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	if !t.started && len(t.deferred) == 0 {
		return t.release()
	}
	if err := t.ctx.Err(); err != nil {
		if t.started {
			_ = t.end(context.WithoutCancel(t.ctx), []stmt{{sql: "ROLLBACK"}})
		}
		_ = t.release()
		return err
	}
	err := t.end(t.ctx, t.commitStmts())
	return errors.Join(err, t.release())
}

// rollbackTimeout bounds a ROLLBACK sent after the request's context ended.
const rollbackTimeout = 5 * time.Second

// Rollback implements dialect.Tx. Deferred statements are dropped unsent.
func (t *Tx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	if !t.started {
		return t.release()
	}
	// The request may be over (its context cancelled): end the transaction
	// anyway, within a bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), rollbackTimeout)
	defer cancel()
	err := t.end(ctx, []stmt{{sql: "ROLLBACK"}})
	return errors.Join(err, t.release())
}

// end sends p, whose last statement is COMMIT or ROLLBACK (after any
// deferred statements), in one batch, and checks that the connection is out
// of the transaction: after a failed statement it sends ROLLBACK, and a
// connection still inside a transaction is closed instead of going back to
// the pool (pgx's stdlib driver would also refuse it on its next use).
func (t *Tx) end(ctx context.Context, p []stmt) error {
	var out error
	err := t.conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			out = fmt.Errorf("rls: driver connection %T is not pgx's", dc)
			return driver.ErrBadConn
		}
		conn := pc.Conn()
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(p))}
		for _, s := range p {
			b.Queue(s.sql, s.args...)
		}
		br := conn.SendBatch(ctx, b)
		for i, s := range p {
			tag, err := br.Exec()
			if err != nil {
				out = s.wrapErr(err)
				break
			}
			if i == len(p)-1 && s.sql == "COMMIT" && tag.String() == "ROLLBACK" {
				out = ErrCommitRolledBack
			}
		}
		if err := br.Close(); out == nil {
			out = err
		}
		if !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
			// A statement failed: the transaction is aborted, not ended.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
			_, _ = conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
		if conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
			return driver.ErrBadConn // closes the connection
		}
		return nil
	})
	if out != nil {
		return out
	}
	if errors.Is(err, driver.ErrBadConn) {
		return nil // the transaction ended with the connection
	}
	return err
}

// release gives the connection back to the pool (or nothing, when end closed it).
func (t *Tx) release() error {
	if err := t.conn.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
		return err
	}
	return nil
}
