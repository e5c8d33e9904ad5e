package rls

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// DriverName is the database/sql driver that lets the rls driver send a
// statement's settings and the statement in one round trip: pgx's stdlib
// driver, whose connections run a statement with a prelude (from the
// context) as one pipelined batch. Open pools for Driver with it
// (sql.Open(rls.DriverName, url)) or with OpenDB; a pool of plain "pgx"
// works too, at three round trips per statement outside a transaction.
const DriverName = "atrium-pgx"

func init() { sql.Register(DriverName, pipeDriver{}) }

// OpenDB is stdlib.OpenDB with connections that take a prelude.
func OpenDB(cfg pgx.ConnConfig, opts ...stdlib.OptionOpenDB) *sql.DB {
	return sql.OpenDB(pipeConnector{stdlib.GetConnector(cfg, opts...)})
}

type pipeDriver struct{}

func (pipeDriver) Open(name string) (driver.Conn, error) {
	c, err := pipeDriver{}.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

func (pipeDriver) OpenConnector(name string) (driver.Connector, error) {
	c, err := stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(name)
	if err != nil {
		return nil, err
	}
	return pipeConnector{c}, nil
}

type pipeConnector struct{ driver.Connector }

func (c pipeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		_ = dc.Close()
		return nil, fmt.Errorf("rls: driver connection %T is not pgx's", dc)
	}
	m := sc.Conn().TypeMap()
	for _, t := range textTypes() {
		m.RegisterType(t)
	}
	return &pipeConn{stdConn: sc}, nil
}

// textTypes are the built-in types pgx would read in binary format but
// stdlib reads as text (every type but the ones it converts itself: bool,
// bytea, the numbers, date and time), made text-only: a batch's results take
// each column's format from the connection's types, and a value that
// database/sql gets as a string must be PostgreSQL's own text for it, as
// through stdlib (a binary int4[] or interval has no string form in pgx).
// Arguments of these types are then sent as text, which PostgreSQL parses.
var textTypes = sync.OnceValue(func() []*pgtype.Type {
	binary := map[uint32]bool{
		pgtype.BoolOID: true, pgtype.ByteaOID: true, pgtype.CIDOID: true, pgtype.DateOID: true,
		pgtype.Float4OID: true, pgtype.Float8OID: true, pgtype.Int2OID: true, pgtype.Int4OID: true,
		pgtype.Int8OID: true, pgtype.OIDOID: true, pgtype.TimestampOID: true,
		pgtype.TimestamptzOID: true, pgtype.XIDOID: true,
	}
	m := pgtype.NewMap()
	var out []*pgtype.Type
	for oid := uint32(1); oid < 16384; oid++ { // built-in OIDs are below FirstNormalObjectId
		t, ok := m.TypeForOID(oid)
		if !ok || binary[oid] || m.FormatCodeForOID(oid) == pgtype.TextFormatCode {
			continue
		}
		out = append(out, &pgtype.Type{Name: t.Name, OID: oid, Codec: &pgtype.TextFormatOnlyCodec{Codec: t.Codec}})
	}
	return out
})

func (c pipeConnector) Driver() driver.Driver { return pipeDriver{} }

// pipeConn is pgx's stdlib connection whose ExecContext and QueryContext
// send the prelude of their context, if any, before the statement in one
// batch: PostgreSQL runs a batch (one Sync) as one implicit transaction
// unless it holds a BEGIN, so transaction-local settings made by the prelude
// hold for the statement and end with it.
type pipeConn struct {
	*stdConn // its methods, Conn() *pgx.Conn among them
}

// stdConn names the embedded field so that it does not hide the method Conn.
type stdConn = stdlib.Conn

// stmt is one statement of a prelude.
type stmt struct {
	sql  string
	args []any
	wrap error // wraps the statement's error (ErrPrelude, ErrDeferred), if set
}

// wrapErr is err wrapped in s.wrap, if set.
func (s stmt) wrapErr(err error) error {
	if s.wrap == nil {
		return err
	}
	return fmt.Errorf("%w: %w", s.wrap, err)
}

type preludeKey struct{}

// withPrelude returns ctx whose statement is sent after p, in one batch.
func withPrelude(ctx context.Context, p []stmt) context.Context {
	if len(p) == 0 {
		return ctx
	}
	return context.WithValue(ctx, preludeKey{}, p)
}

func preludeOf(ctx context.Context) []stmt {
	p, _ := ctx.Value(preludeKey{}).([]stmt)
	return p
}

// ErrPrelude wraps the error of a prelude statement: the statement after it
// did not run.
var ErrPrelude = errors.New("rls: set scope")

// send queues the prelude and the statement and reads the prelude's
// results; the caller reads the statement's and closes br.
func (c *pipeConn) send(ctx context.Context, p []stmt, query string, argsV []driver.NamedValue) (pgx.BatchResults, error) {
	pc := c.Conn()
	if pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(p)+1)}
	for _, s := range p {
		b.Queue(s.sql, s.args...)
	}
	args := make([]any, len(argsV))
	for i, v := range argsV {
		args[i] = v.Value
	}
	b.Queue(query, args...)
	br := pc.SendBatch(ctx, b)
	for _, s := range p {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			if pgconn.SafeToRetry(err) {
				return nil, driver.ErrBadConn
			}
			return nil, s.wrapErr(err)
		}
	}
	return br, nil
}

// ExecContext implements driver.ExecerContext.
func (c *pipeConn) ExecContext(ctx context.Context, query string, argsV []driver.NamedValue) (driver.Result, error) {
	p := preludeOf(ctx)
	if p == nil {
		return c.stdConn.ExecContext(ctx, query, argsV)
	}
	br, err := c.send(ctx, p, query, argsV)
	if err != nil {
		return nil, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// QueryContext implements driver.QueryerContext.
func (c *pipeConn) QueryContext(ctx context.Context, query string, argsV []driver.NamedValue) (driver.Rows, error) {
	p := preludeOf(ctx)
	if p == nil {
		return c.stdConn.QueryContext(ctx, query, argsV)
	}
	br, err := c.send(ctx, p, query, argsV)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		rows.Close()
		_ = br.Close()
		return nil, err
	}
	// As stdlib does: read the first row now, so that the statement's error
	// is the query's and the columns are known.
	more := rows.Next()
	if err := rows.Err(); err != nil {
		rows.Close()
		_ = br.Close()
		return nil, err
	}
	return &pipeRows{rows: rows, br: br, m: c.Conn().TypeMap(), first: true, firstMore: more}, nil
}

// pipeRows is a batch's statement result as driver.Rows, with stdlib's
// conversions of PostgreSQL values to database/sql values (so that scanning
// works as it does through stdlib) in either result format.
type pipeRows struct {
	rows             pgx.Rows
	br               pgx.BatchResults
	m                *pgtype.Map
	conv             []func([]byte) (driver.Value, error)
	cols             []string
	first, firstMore bool
	closed           bool
}

func (r *pipeRows) Columns() []string {
	if r.cols == nil {
		fds := r.rows.FieldDescriptions()
		r.cols = make([]string, len(fds))
		for i, fd := range fds {
			r.cols[i] = fd.Name
		}
	}
	return r.cols
}

// ColumnTypeScanType is stdlib's: the Go type a column scans into.
func (r *pipeRows) ColumnTypeScanType(index int) reflect.Type {
	switch r.rows.FieldDescriptions()[index].DataTypeOID {
	case pgtype.Float8OID, pgtype.NumericOID:
		return reflect.TypeFor[float64]()
	case pgtype.Float4OID:
		return reflect.TypeFor[float32]()
	case pgtype.Int8OID:
		return reflect.TypeFor[int64]()
	case pgtype.Int4OID:
		return reflect.TypeFor[int32]()
	case pgtype.Int2OID:
		return reflect.TypeFor[int16]()
	case pgtype.BoolOID:
		return reflect.TypeFor[bool]()
	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		return reflect.TypeFor[time.Time]()
	case pgtype.ByteaOID:
		return reflect.TypeFor[[]byte]()
	default:
		return reflect.TypeFor[string]()
	}
}

// ColumnTypeDatabaseTypeName is stdlib's: the type's name, or its OID.
func (r *pipeRows) ColumnTypeDatabaseTypeName(index int) string {
	oid := r.rows.FieldDescriptions()[index].DataTypeOID
	if dt, ok := r.m.TypeForOID(oid); ok {
		return strings.ToUpper(dt.Name)
	}
	return strconv.FormatInt(int64(oid), 10)
}

func (r *pipeRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.rows.Close()
	err := r.rows.Err()
	// Reads the end of the batch: the implicit transaction's commit.
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r *pipeRows) Next(dest []driver.Value) error {
	var more bool
	if r.first {
		r.first, more = false, r.firstMore
	} else {
		more = r.rows.Next()
	}
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		// The commit of the implicit transaction can still fail: its error
		// is the rows' error, not a clean end.
		if err := r.Close(); err != nil {
			return err
		}
		return io.EOF
	}
	if r.conv == nil {
		fds := r.rows.FieldDescriptions()
		r.conv = make([]func([]byte) (driver.Value, error), len(fds))
		for i, fd := range fds {
			r.conv[i] = valueFunc(r.m, fd)
		}
	}
	for i, raw := range r.rows.RawValues() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.conv[i](raw)
		if err != nil {
			return fmt.Errorf("convert field %d failed: %w", i, err)
		}
		dest[i] = v
	}
	return nil
}

// valueFunc converts a raw value of fd to the driver.Value stdlib's Rows
// gives for its type: bool, []byte (bytea, json, jsonb, xml), int64,
// float64, time.Time (date, timestamp, timestamptz), and a string for every
// other type (uuid, text, numeric, …).
func valueFunc(m *pgtype.Map, fd pgconn.FieldDescription) func([]byte) (driver.Value, error) {
	switch fd.DataTypeOID {
	case pgtype.BoolOID:
		return conv(m, fd, func(d bool) (driver.Value, error) { return d, nil })
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID:
		return conv(m, fd, func(d []byte) (driver.Value, error) { return d, nil })
	case pgtype.CIDOID, pgtype.OIDOID, pgtype.XIDOID:
		return conv(m, fd, func(d pgtype.Uint32) (driver.Value, error) { return d.Value() })
	case pgtype.DateOID:
		return conv(m, fd, func(d pgtype.Date) (driver.Value, error) { return d.Value() })
	case pgtype.Float4OID:
		return conv(m, fd, func(d float32) (driver.Value, error) { return float64(d), nil })
	case pgtype.Float8OID:
		return conv(m, fd, func(d float64) (driver.Value, error) { return d, nil })
	case pgtype.Int2OID:
		return conv(m, fd, func(d int16) (driver.Value, error) { return int64(d), nil })
	case pgtype.Int4OID:
		return conv(m, fd, func(d int32) (driver.Value, error) { return int64(d), nil })
	case pgtype.Int8OID:
		return conv(m, fd, func(d int64) (driver.Value, error) { return d, nil })
	case pgtype.TimestampOID:
		return conv(m, fd, func(d pgtype.Timestamp) (driver.Value, error) { return d.Value() })
	case pgtype.TimestamptzOID:
		return conv(m, fd, func(d pgtype.Timestamptz) (driver.Value, error) { return d.Value() })
	default:
		return conv(m, fd, func(d string) (driver.Value, error) { return d, nil })
	}
}

func conv[T any](m *pgtype.Map, fd pgconn.FieldDescription, f func(T) (driver.Value, error)) func([]byte) (driver.Value, error) {
	var d T
	plan := m.PlanScan(fd.DataTypeOID, fd.Format, &d)
	return func(src []byte) (driver.Value, error) {
		var zero T
		d = zero
		if err := plan.Scan(src, &d); err != nil {
			return nil, err
		}
		return f(d)
	}
}
