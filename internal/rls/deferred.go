package rls

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
)

type deferredKey struct{}

// Deferred returns ctx whose statements, given to a Tx's ExecContext, are
// not sent at once but held for the transaction's next round trip: its
// COMMIT, or its next statement if one comes first. Each goes after the
// settings of its own context's scope, in that round trip's batch. A
// statement that ends a transaction's work and serializes writers (the audit
// chain's lock and append) then reaches PostgreSQL in one batch with COMMIT,
// and holds its lock for the time the database takes to run the rest of the
// batch, never for a round trip to the client; a later statement of the
// transaction still sees what it wrote.
//
// ExecContext returns a result whose RowsAffected is an error (the statement
// has not run). A deferred statement's failure is the error of the round
// trip that sends it (Commit's or the next statement's), wrapping
// ErrDeferred; on Commit the transaction is rolled back. Rollback drops
// deferred statements unsent. ExecContext defers, and so does an ent
// create of rows whose ids ent set (`Save` under Deferred: ent wants no
// result back, and returns the row it built); ent's updates and deletes
// (which count rows) and queries under Deferred are refused (their results
// cannot wait). Outside an
// rls Tx (SQLite, database/sql) the marker means nothing: callers that
// depend on it check the dialect.
func Deferred(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferredKey{}, true)
}

func isDeferred(ctx context.Context) bool {
	d, _ := ctx.Value(deferredKey{}).(bool)
	return d
}

// ErrDeferred wraps the error of a deferred statement (Deferred).
var ErrDeferred = errors.New("rls: deferred statement")

// errDeferredQuery refuses a query or ent statement under Deferred.
var errDeferredQuery = errors.New("rls: only Tx.ExecContext and ent creates defer a statement")

// deferredResult is the result of a deferred statement: nothing is known yet.
type deferredResult struct{}

var errDeferredResult = errors.New("rls: the statement is deferred; its result is not known")

func (deferredResult) LastInsertId() (int64, error) { return 0, errDeferredResult }
func (deferredResult) RowsAffected() (int64, error) { return 0, errDeferredResult }

// deferred is a statement deferred to the next round trip, with the scope it
// runs in.
type deferred struct {
	scope scope
	stmt  stmt
}

// unknownScope is the scope of a connection whose settings are not known
// (after BEGIN, or a failed batch): every scope differs from it.
var unknownScope = scope{tenant: uuid.Max}

// deferStmt holds a statement for the next round trip.
func (t *Tx) deferStmt(ctx context.Context, query string, args []any) (sql.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil, sql.ErrTxDone
	}
	t.deferred = append(t.deferred, deferred{scope: scopeOf(ctx), stmt: stmt{sql: query, args: args, wrap: ErrDeferred}})
	return deferredResult{}, nil
}

// takeDeferred appends the deferred statements to p, each after the
// settings of its scope when they differ from the last ones (cur), and
// returns the batch and the scope it leaves.
func (t *Tx) takeDeferred(p []stmt, cur scope) ([]stmt, scope) {
	for _, d := range t.deferred {
		if d.scope != cur {
			p = append(p, setStmt(d.scope, t.lockTimeout))
			cur = d.scope
		}
		p = append(p, d.stmt)
	}
	t.deferred = nil
	return p, cur
}

// pending is what goes before the transaction's next statement or COMMIT:
// BEGIN when nothing was sent yet, then the deferred statements, each after
// the settings of its scope; and the scope the connection is then in.
func (t *Tx) pending() ([]stmt, scope) {
	var p []stmt
	cur := t.cur
	if !t.started {
		// Whatever happens, the connection may be inside a transaction
		// now: Rollback must end it.
		t.started = true
		p, cur = append(p, t.beginStmt()), unknownScope
	}
	return t.takeDeferred(p, cur)
}

// commitStmts is what Commit sends: what is pending, then COMMIT.
func (t *Tx) commitStmts() []stmt {
	p, _ := t.pending()
	return append(p, stmt{sql: "COMMIT"})
}
