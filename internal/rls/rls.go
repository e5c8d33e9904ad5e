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
// statement, COMMIT). Inside a transaction the settings are made at BEGIN and
// made again before any statement whose viewer differs from the last one's,
// so a system write inside a member's transaction (the audit writer) runs as
// the system and the member's next statement as the member again.
//
// The ent privacy rules (internal/policy) stay the first wall; this one holds
// if a rule is missing or wrong. SQLite has no row-level security and keeps
// the ent wall only.
package rls

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"atrium/internal/viewer"
)

// Role is the PostgreSQL role the server's queries run as. The migration
// creates it (NOLOGIN, no BYPASSRLS) and grants it the tables; the connecting
// role must be a member of it (the migration grants membership to the role
// that runs it).
const Role = "atrium_app"

// setStmt makes the settings of one scope, transaction-local.
const setStmt = `SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true), ` +
	`set_config('app.user_id', $3, true), set_config('app.self_id', $4, true), set_config('app.system', $5, true)`

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

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func apply(ctx context.Context, ex execer, s scope) error {
	if _, err := ex.ExecContext(ctx, setStmt, s.args()...); err != nil {
		return fmt.Errorf("rls: set scope: %w", err)
	}
	return nil
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
	if err := (entsql.Conn{ExecQuerier: tx.tx}).Exec(ctx, query, args, v); err != nil {
		_ = tx.tx.Rollback()
		return err
	}
	return tx.tx.Commit()
}

// Query implements dialect.ExecQuerier: the statement runs in its own
// transaction with the scope of ctx, committed when the rows are closed
// (ent closes them; PostgreSQL's INSERT … RETURNING is a query too).
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	tx, err := d.begin(ctx, nil)
	if err != nil {
		return err
	}
	if err := (entsql.Conn{ExecQuerier: tx.tx}).Query(ctx, query, args, v); err != nil {
		_ = tx.tx.Rollback()
		return err
	}
	rows, ok := v.(*entsql.Rows)
	if !ok {
		_ = tx.tx.Rollback()
		return fmt.Errorf("rls: query result %T", v)
	}
	rows.ColumnScanner = &txRows{ColumnScanner: rows.ColumnScanner, tx: tx.tx}
	return nil
}

// txRows ends the statement's transaction when the rows are closed.
type txRows struct {
	entsql.ColumnScanner
	tx   *sql.Tx
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
	res, err := tx.tx.ExecContext(ctx, query, args...)
	if err != nil {
		_ = tx.tx.Rollback()
		return nil, err
	}
	return res, tx.tx.Commit()
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

func (d *Driver) begin(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	sqlTx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := scopeOf(ctx)
	if err := apply(ctx, sqlTx, s); err != nil {
		_ = sqlTx.Rollback()
		return nil, err
	}
	return &Tx{tx: sqlTx, cur: s}, nil
}

// Tx is a transaction whose statements each run with the scope of their own
// context.
type Tx struct {
	tx  *sql.Tx
	cur scope
}

var _ dialect.Tx = (*Tx)(nil)

// ensure makes the settings of ctx's scope if they differ from the last ones.
func (t *Tx) ensure(ctx context.Context) error {
	s := scopeOf(ctx)
	if s == t.cur {
		return nil
	}
	if err := apply(ctx, t.tx, s); err != nil {
		return err
	}
	t.cur = s
	return nil
}

// Exec implements dialect.ExecQuerier.
func (t *Tx) Exec(ctx context.Context, query string, args, v any) error {
	if err := t.ensure(ctx); err != nil {
		return err
	}
	return (entsql.Conn{ExecQuerier: t.tx}).Exec(ctx, query, args, v)
}

// Query implements dialect.ExecQuerier.
func (t *Tx) Query(ctx context.Context, query string, args, v any) error {
	if err := t.ensure(ctx); err != nil {
		return err
	}
	return (entsql.Conn{ExecQuerier: t.tx}).Query(ctx, query, args, v)
}

// ExecContext runs a raw statement (ent's sql/execquery feature).
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.ensure(ctx); err != nil {
		return nil, err
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a raw query (ent's sql/execquery feature).
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.ensure(ctx); err != nil {
		return nil, err
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// Commit implements dialect.Tx.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback implements dialect.Tx.
func (t *Tx) Rollback() error { return t.tx.Rollback() }
