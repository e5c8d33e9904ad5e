package telemetry

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeDB is the instrumentation scope of the database spans.
const ScopeDB = "atrium/db"

// SQLDriver is the ent driver TraceDriver wraps: ent's SQL driver, or one
// wrapped around it (internal/rls, the pool limit), with the raw statements
// and the transaction options the generated code reaches by type assertion.
type SQLDriver interface {
	dialect.Driver
	BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rawTx is the part of a transaction that the generated ent.Tx reaches by
// type assertion.
type rawTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// TraceDriver returns drv making a span for each statement and for each
// transaction (its statements are the transaction span's children). The
// spans come from the tracer provider of the span already in the context
// (the HTTP request's): outside a trace nothing is recorded, and each App's
// provider stays its own. Spans carry the statement text (placeholders,
// never the arguments) and the dialect.
func TraceDriver(drv SQLDriver) *Driver {
	return &Driver{SQLDriver: drv, system: system(drv.Dialect())}
}

// Driver is a traced ent driver.
type Driver struct {
	SQLDriver
	system string
}

func system(d string) string {
	if d == dialect.Postgres {
		return "postgresql"
	}
	return d
}

func (d *Driver) start(ctx context.Context, name, query string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent // no trace: nothing to record (a no-op span)
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", d.system)}
	if query != "" {
		attrs = append(attrs, attribute.String("db.query.text", truncate(query)),
			attribute.String("db.operation.name", operation(query)))
	}
	return parent.TracerProvider().Tracer(ScopeDB).Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "database error")
	}
	span.End()
}

func operation(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexAny(q, " \t\n("); i > 0 {
		q = q[:i]
	}
	return strings.ToUpper(q)
}

func truncate(q string) string {
	if len(q) > 2000 {
		return q[:2000]
	}
	return q
}

func spanName(query string) string {
	if op := operation(query); op != "" {
		return "db." + strings.ToLower(op)
	}
	return "db.query"
}

// Exec implements dialect.ExecQuerier.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) error {
	ctx, span := d.start(ctx, spanName(query), query)
	err := d.SQLDriver.Exec(ctx, query, args, v)
	end(span, err)
	return err
}

// Query implements dialect.ExecQuerier. The span ends when the query
// returns, before the rows are read.
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	ctx, span := d.start(ctx, spanName(query), query)
	err := d.SQLDriver.Query(ctx, query, args, v)
	end(span, err)
	return err
}

// ExecContext runs a raw statement.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, span := d.start(ctx, spanName(query), query)
	res, err := d.SQLDriver.ExecContext(ctx, query, args...)
	end(span, err)
	return res, err
}

// QueryContext runs a raw query.
func (d *Driver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, span := d.start(ctx, spanName(query), query)
	rows, err := d.SQLDriver.QueryContext(ctx, query, args...)
	end(span, err)
	return rows, err
}

// Tx implements dialect.Driver.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx starts a transaction whose span lasts until it commits or rolls
// back.
func (d *Driver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	ctx, span := d.start(ctx, "db.transaction", "")
	tx, err := d.SQLDriver.BeginTx(ctx, opts)
	if err != nil {
		end(span, err)
		return nil, err
	}
	raw, ok := tx.(rawTx)
	if !ok {
		_ = tx.Rollback()
		err := fmt.Errorf("unexpected transaction type %T", tx)
		end(span, err)
		return nil, err
	}
	return &tracedTx{Tx: tx, raw: raw, d: d, span: span}, nil
}

// tracedTx is a transaction whose statements are children of its span.
type tracedTx struct {
	dialect.Tx
	raw  rawTx
	d    *Driver
	span trace.Span
}

func (t *tracedTx) ctx(ctx context.Context) context.Context {
	if !t.span.SpanContext().IsValid() {
		return ctx
	}
	return trace.ContextWithSpan(ctx, t.span)
}

func (t *tracedTx) Exec(ctx context.Context, query string, args, v any) error {
	ctx, span := t.d.start(t.ctx(ctx), spanName(query), query)
	err := t.Tx.Exec(ctx, query, args, v)
	end(span, err)
	return err
}

func (t *tracedTx) Query(ctx context.Context, query string, args, v any) error {
	ctx, span := t.d.start(t.ctx(ctx), spanName(query), query)
	err := t.Tx.Query(ctx, query, args, v)
	end(span, err)
	return err
}

// ExecContext implements the ent.Tx raw statement.
func (t *tracedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, span := t.d.start(t.ctx(ctx), spanName(query), query)
	res, err := t.raw.ExecContext(ctx, query, args...)
	end(span, err)
	return res, err
}

// QueryContext implements the ent.Tx raw query.
func (t *tracedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, span := t.d.start(t.ctx(ctx), spanName(query), query)
	rows, err := t.raw.QueryContext(ctx, query, args...)
	end(span, err)
	return rows, err
}

func (t *tracedTx) Commit() error {
	err := t.Tx.Commit()
	t.span.SetAttributes(attribute.String("db.transaction.outcome", "commit"))
	end(t.span, err)
	return err
}

func (t *tracedTx) Rollback() error {
	err := t.Tx.Rollback()
	t.span.SetAttributes(attribute.String("db.transaction.outcome", "rollback"))
	end(t.span, err)
	return err
}
