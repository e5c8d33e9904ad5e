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
// A context without a viewer sets none of them, and the policies then match
// no row: a query that forgets the tenant returns nothing, never everything.
//
// Statements outside a transaction are wrapped in one (BEGIN, settings,
// statement, COMMIT). Inside a transaction the settings are made before the
// first statement and made again before any statement whose viewer differs
// from the last one's, so a system write inside a member's transaction (the
// audit writer) runs as the system and the member's next statement as the
// member again.
//
// Round trips: BEGIN is not sent on its own but with the first statement's
// settings, as one simple-protocol message ("BEGIN; SELECT set_config(...)");
// a change of settings before a raw statement without arguments (the audit
// chain's advisory lock) goes in the same message as that statement. So a
// statement outside a transaction costs three round trips (BEGIN and
// settings, the statement, COMMIT) instead of four, and a transaction one
// less than before plus one per raw statement that changes the viewer. A
// transaction that runs no statement sends nothing.
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
	"strings"
	"sync"
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

// setSQL is the statement that makes the settings of scope s,
// transaction-local, as one simple-protocol statement with literal values
// (an argument would force the extended protocol, which carries one
// statement per message): the role is a constant, the ids are UUIDs and the
// system flag is "on" or empty, so no value needs escaping.
func setSQL(s scope) string {
	a := s.args()
	var b strings.Builder
	b.Grow(200)
	b.WriteString("SELECT ")
	for i, name := range settingNames {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("set_config('")
		b.WriteString(name)
		b.WriteString("', '")
		b.WriteString(a[i].(string))
		b.WriteString("', true)")
	}
	return b.String()
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
	return []any{Role, str(s.tenant), str(s.user), str(s.self), sys}
}

// Driver is an ent dialect.Driver over a PostgreSQL pool that applies the
// viewer's scope to every statement.
type Driver struct {
	db *sql.DB
}

var _ dialect.Driver = (*Driver)(nil)

// New returns the driver over db, a PostgreSQL pool.
func New(db *sql.DB) *Driver { return &Driver{db: db} }

// Dialect implements dialect.Driver.
func (d *Driver) Dialect() string { return dialect.Postgres }

// Close implements dialect.Driver.
func (d *Driver) Close() error { return d.db.Close() }

// DB returns the pool (as entsql.Driver.DB does).
func (d *Driver) DB() *sql.DB { return d.db }

// Exec implements dialect.ExecQuerier: the statement runs in its own
// transaction with the scope of ctx.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) (err error) {
	tx, err := d.begin(ctx, nil)
	if err != nil {
		return err
	}
	if err := tx.Exec(ctx, query, args, v); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Query implements dialect.ExecQuerier: the statement runs in its own
// transaction with the scope of ctx, committed when the rows are closed
// (ent closes them; PostgreSQL's INSERT … RETURNING is a query too).
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	tx, err := d.begin(ctx, nil)
	if err != nil {
		return err
	}
	if err := tx.Query(ctx, query, args, v); err != nil {
		_ = tx.Rollback()
		return err
	}
	rows, ok := v.(*entsql.Rows)
	if !ok {
		_ = tx.Rollback()
		return fmt.Errorf("rls: query result %T", v)
	}
	rows.ColumnScanner = &txRows{ColumnScanner: rows.ColumnScanner, tx: tx}
	return nil
}

// txRows ends the statement's transaction when the rows are closed.
type txRows struct {
	entsql.ColumnScanner
	tx   *Tx
	done bool
}

func (r *txRows) Close() error {
	err := r.ColumnScanner.Close()
	if r.done {
		return err
	}
	r.done = true
	if err != nil || r.Err() != nil {
		_ = r.tx.Rollback()
		return err
	}
	return r.tx.Commit()
}

// ExecContext is the raw statement of ent's sql/execquery feature, in its own
// transaction with the scope of ctx.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := d.begin(ctx, nil)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return res, tx.Commit()
}

// ErrQueryOutsideTx is returned by Driver.QueryContext: *sql.Rows cannot
// carry the transaction that holds the scope, so raw queries run in a Tx.
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
// with the settings of the first statement's scope, in one round trip.
func (d *Driver) begin(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	beginSQL, err := beginStmt(opts)
	if err != nil {
		return nil, err
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Tx{conn: conn, ctx: ctx, beginSQL: beginSQL}, nil
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
// to its end and speaks BEGIN, COMMIT and ROLLBACK itself, so that BEGIN and
// the first settings, and a change of settings and a statement without
// arguments, each take one round trip instead of two.
type Tx struct {
	conn     *sql.Conn
	ctx      context.Context // of begin: its end rolls the transaction back, as with sql.Tx
	beginSQL string

	mu      sync.Mutex
	started bool // BEGIN sent
	done    bool
	cur     scope
}

var _ dialect.Tx = (*Tx)(nil)

// ensure makes the settings of ctx's scope if they differ from the last ones
// (and sends BEGIN with them before the first statement). With a statement
// without arguments (raw != ""), that statement goes in the same round trip
// and ensure reports it ran (sent) with its result.
func (t *Tx) ensure(ctx context.Context, raw string) (res sql.Result, sent bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil, false, sql.ErrTxDone
	}
	s := scopeOf(ctx)
	if t.started && s == t.cur {
		return nil, false, nil
	}
	q := setSQL(s)
	if !t.started {
		q = t.beginSQL + "; " + q
	}
	if raw != "" {
		q += "; " + raw
	}
	res, err = t.conn.ExecContext(ctx, q)
	if !t.started {
		// Whatever happened, the connection may be inside a transaction
		// now: Rollback must end it.
		t.started = true
	}
	if err != nil {
		t.cur = scope{tenant: uuid.Max} // unknown: set again before the next statement
		return nil, false, fmt.Errorf("rls: set scope: %w", err)
	}
	t.cur = s
	return res, raw != "", nil
}

// Exec implements dialect.ExecQuerier.
func (t *Tx) Exec(ctx context.Context, query string, args, v any) error {
	if _, _, err := t.ensure(ctx, ""); err != nil {
		return err
	}
	return (entsql.Conn{ExecQuerier: t.conn}).Exec(ctx, query, args, v)
}

// Query implements dialect.ExecQuerier.
func (t *Tx) Query(ctx context.Context, query string, args, v any) error {
	if _, _, err := t.ensure(ctx, ""); err != nil {
		return err
	}
	return (entsql.Conn{ExecQuerier: t.conn}).Query(ctx, query, args, v)
}

// ExecContext runs a raw statement (ent's sql/execquery feature). A
// statement without arguments that needs new settings goes with them in one
// round trip (its result then counts the rows of that last statement only
// if the driver reports it so; callers of such statements, like the audit
// chain's lock, do not read it).
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	raw := ""
	if len(args) == 0 {
		raw = query
	}
	res, sent, err := t.ensure(ctx, raw)
	if err != nil || sent {
		return res, err
	}
	return t.conn.ExecContext(ctx, query, args...)
}

// QueryContext runs a raw query (ent's sql/execquery feature).
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if _, _, err := t.ensure(ctx, ""); err != nil {
		return nil, err
	}
	return t.conn.QueryContext(ctx, query, args...)
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
	if !t.started {
		return t.release()
	}
	if err := t.ctx.Err(); err != nil {
		_ = t.end(context.WithoutCancel(t.ctx), "ROLLBACK")
		_ = t.release()
		return err
	}
	err := t.end(t.ctx, "COMMIT")
	return errors.Join(err, t.release())
}

// Rollback implements dialect.Tx.
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
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	err := t.end(ctx, "ROLLBACK")
	return errors.Join(err, t.release())
}

// end sends COMMIT or ROLLBACK and checks that the connection is out of the
// transaction; a connection that is not is closed instead of going back to
// the pool (pgx's stdlib driver would also refuse it on its next use).
func (t *Tx) end(ctx context.Context, stmt string) error {
	var out error
	err := t.conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			out = fmt.Errorf("rls: driver connection %T is not pgx's", dc)
			return driver.ErrBadConn
		}
		tag, err := pc.Conn().Exec(ctx, stmt)
		switch {
		case err != nil:
			out = err
		case stmt == "COMMIT" && tag.String() == "ROLLBACK":
			out = ErrCommitRolledBack
		}
		if pc.Conn().PgConn().TxStatus() != 'I' {
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
