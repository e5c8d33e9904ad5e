package fault

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// RetryAfter is what a client is told to wait before retrying after a
// dependency failed: long enough for a restart or a failover to finish, short
// enough that a client does not wait for a database that is already back.
const RetryAfter = 2 * time.Second

// ErrPoolTimeout is returned when no database connection became free within
// the configured acquire timeout (ATRIUM_DB_ACQUIRE_TIMEOUT). It is a
// connection-class failure: Classify makes it Unavailable.
var ErrPoolTimeout = errors.New("database: no connection free within the acquire timeout")

// Classify makes a connection-class failure of the database or of Redis, and
// a transaction PostgreSQL aborted in a conflict or a lock wait (pgCode), an
// Unavailable error (503 with Retry-After) and returns every other error
// unchanged: already classified errors keep their code, and anything else is
// left for the caller (and in the end the HTTP mapper, as Internal).
//
// It is the one place that knows what "the dependency is down" looks like.
// Call it where a driver's error is first seen (FromEnt does), and wherever an
// error would otherwise be mistaken for something else, such as a failed
// permission lookup on the authentication path.
func Classify(err error) error {
	if err == nil || As(err) != nil {
		return err
	}
	if which := unavailable(err); which != "" {
		return &Error{Code: Unavailable, Message: which + " is unavailable; retry shortly", RetryAfter: RetryAfter, Err: err}
	}
	switch pgCode(err) {
	case "40001", "40P01":
		return &Error{Code: Unavailable, Message: "the database rolled the change back in a conflict with a concurrent one; retry",
			RetryAfter: conflictRetryAfter, Err: err}
	case "55P03":
		return &Error{Code: Unavailable, Message: "data the request needs is locked by another transaction; retry shortly",
			RetryAfter: RetryAfter, Err: err}
	}
	return err
}

// conflictRetryAfter is what a client is told to wait after PostgreSQL
// rolled its transaction back to resolve a conflict: the conflict ended with
// the rollback, so a retry may go at once.
const conflictRetryAfter = time.Second

// pgCode is the SQLSTATE of the PostgreSQL error in err's chain, or "".
// Classify makes three of them transient, like a dependency that is briefly
// down: 40001 (serialization failure) and 40P01 (deadlock detected), where
// PostgreSQL aborted the transaction to resolve a conflict with a concurrent
// one, and 55P03 (lock not available: a statement waited longer than
// lock_timeout, ATRIUM_DB_LOCK_TIMEOUT, for a lock another transaction
// holds). Nothing of the request was committed and the same request, sent
// again, is expected to succeed: not a bug (500), and not a conflict with
// stored data (409).
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// IsUnavailable reports whether err is a connection-class failure or a
// transaction PostgreSQL aborted in a conflict or a lock wait, or already
// classified as Unavailable.
func IsUnavailable(err error) bool {
	return CodeOf(Classify(err)) == Unavailable
}

// unavailable names the dependency err says is unreachable, or returns "".
func unavailable(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 53: insufficient resources (too many
		// connections, out of memory or disk); 57P01-57P03: the server is
		// shutting down, crashed, or not yet accepting connections.
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "53"),
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03":
			return "the database"
		}
		return ""
	}
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connErr),
		errors.Is(err, ErrPoolTimeout),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone):
		return "the database"
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted), errors.Is(err, redis.ErrClosed):
		return "the cache"
	}
	if isNetwork(err) {
		return "a dependency"
	}
	return ""
}

// isNetwork reports a failure of the connection itself: a refused or reset
// connection, a timeout on the wire, a connection closed under us.
func isNetwork(err error) bool {
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &op), errors.As(err, &ne):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	return false
}
