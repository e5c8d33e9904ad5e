package app

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"atrium/internal/config"
	"atrium/internal/fault"
)

// PoolOptions size the PostgreSQL connection pool; see docs/configuration.md.
type PoolOptions struct {
	MaxConns        int           // ATRIUM_DB_MAX_CONNS
	MaxIdleConns    int           // ATRIUM_DB_MAX_IDLE_CONNS
	ConnMaxLifetime time.Duration // ATRIUM_DB_CONN_MAX_LIFETIME
	ConnMaxIdleTime time.Duration // ATRIUM_DB_CONN_MAX_IDLE_TIME
	AcquireTimeout  time.Duration // ATRIUM_DB_ACQUIRE_TIMEOUT
	LockTimeout     time.Duration // ATRIUM_DB_LOCK_TIMEOUT
}

// PoolOptionsFrom returns the pool settings of cfg.
func PoolOptionsFrom(cfg *config.Config) PoolOptions {
	return PoolOptions{
		MaxConns: cfg.DBMaxConns, MaxIdleConns: cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime, ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
		AcquireTimeout: cfg.DBAcquireTimeout, LockTimeout: cfg.DBLockTimeout,
	}
}

// apply sets the pool limits on db.
func (o PoolOptions) apply(db *sql.DB) {
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(min(o.MaxIdleConns, o.MaxConns))
	db.SetConnMaxLifetime(o.ConnMaxLifetime)
	db.SetConnMaxIdleTime(o.ConnMaxIdleTime)
}

// limitedDriver admits at most cap(slots) statements and transactions at a
// time, the size of the pool, and makes a caller that waits longer than
// timeout for a slot fail with fault.ErrPoolTimeout (503 with Retry-After)
// instead of queueing without limit inside database/sql, whose wait for a
// free connection has no bound but the request's context.
//
// A slot is held for the whole of a transaction and, for a query, until its
// rows are closed: the same span database/sql holds the connection.
type limitedDriver struct {
	slotDriver
	slots   chan struct{}
	timeout time.Duration
}

// slotDriver is what limitedDriver wraps: ent's SQL driver, or internal/rls's
// driver over it.
type slotDriver interface {
	dialect.Driver
	BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rawTx is the part of a transaction that the generated ent.Tx reaches by
// type assertion (ExecContext, QueryContext).
type rawTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func newLimitedDriver(drv slotDriver, size int, timeout time.Duration) *limitedDriver {
	return &limitedDriver{slotDriver: drv, slots: make(chan struct{}, size), timeout: timeout}
}

// acquire takes a slot and returns its idempotent release.
func (d *limitedDriver) acquire(ctx context.Context) (func(), error) {
	select {
	case d.slots <- struct{}{}:
	default:
		t := time.NewTimer(d.timeout)
		defer t.Stop()
		select {
		case d.slots <- struct{}{}:
		case <-t.C:
			return nil, fmt.Errorf("%w (%d in use, waited %s)", fault.ErrPoolTimeout, cap(d.slots), d.timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-d.slots }) }, nil
}

// Exec implements dialect.ExecQuerier.
func (d *limitedDriver) Exec(ctx context.Context, query string, args, v any) error {
	release, err := d.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return d.slotDriver.Exec(ctx, query, args, v)
}

// ExecContext runs a raw statement within a slot.
func (d *limitedDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	release, err := d.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.slotDriver.ExecContext(ctx, query, args...)
}

// QueryContext runs a raw query within a slot. *sql.Rows cannot report its
// Close, so the slot is freed when the query returns: raw queries are rare
// (and refused outside a transaction under row-level security).
func (d *limitedDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	release, err := d.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.slotDriver.QueryContext(ctx, query, args...)
}

// Query implements dialect.ExecQuerier; the slot is released when the rows
// are closed.
func (d *limitedDriver) Query(ctx context.Context, query string, args, v any) error {
	release, err := d.acquire(ctx)
	if err != nil {
		return err
	}
	if err := d.slotDriver.Query(ctx, query, args, v); err != nil {
		release()
		return err
	}
	if rows, ok := v.(*entsql.Rows); ok && rows.ColumnScanner != nil {
		rows.ColumnScanner = releasingRows{rows.ColumnScanner, release}
	} else {
		release()
	}
	return nil
}

// Tx implements dialect.Driver.
func (d *limitedDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx starts a transaction holding a slot until it commits or rolls back.
func (d *limitedDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	release, err := d.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := d.slotDriver.BeginTx(ctx, opts)
	if err != nil {
		release()
		return nil, err
	}
	raw, ok := tx.(rawTx)
	if !ok {
		_ = tx.Rollback()
		release()
		return nil, fmt.Errorf("unexpected transaction type %T", tx)
	}
	return &releasingTx{Tx: tx, raw: raw, release: release}, nil
}

type releasingRows struct {
	entsql.ColumnScanner
	release func()
}

func (r releasingRows) Close() error {
	defer r.release()
	return r.ColumnScanner.Close()
}

// releasingTx is an ent transaction (ExecContext and QueryContext included,
// which the generated ent.Tx reaches by type assertion) that frees its slot
// when it ends.
type releasingTx struct {
	dialect.Tx
	raw     rawTx
	release func()
}

// ExecContext implements the ent.Tx raw statement.
func (t *releasingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.raw.ExecContext(ctx, query, args...)
}

// QueryContext implements the ent.Tx raw query.
func (t *releasingTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.raw.QueryContext(ctx, query, args...)
}

func (t *releasingTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *releasingTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}
