package fault_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/internal/fault"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	unavailable := map[string]error{
		"connection failure 08006":    &pgconn.PgError{Code: "08006"},
		"too many connections 53300":  fmt.Errorf("connect: %w", &pgconn.PgError{Code: "53300"}),
		"admin shutdown 57P01":        &pgconn.PgError{Code: "57P01"},
		"crash shutdown 57P02":        &pgconn.PgError{Code: "57P02"},
		"cannot connect now 57P03":    &pgconn.PgError{Code: "57P03"},
		"bad connection":              fmt.Errorf("ent: %w", driver.ErrBadConn),
		"pool acquire timeout":        fmt.Errorf("query: %w", fault.ErrPoolTimeout),
		"connection refused":          fmt.Errorf("dial: %w", refused),
		"redis pool timeout":          redis.ErrPoolTimeout,
		"redis closed":                redis.ErrClosed,
		"deadlock 40P01":              fmt.Errorf("rls: deferred statement: %w", &pgconn.PgError{Code: "40P01"}),
		"serialization failure 40001": &pgconn.PgError{Code: "40001"},
		"lock timeout 55P03":          fmt.Errorf("ent: %w", &pgconn.PgError{Code: "55P03"}),
	}
	for name, err := range unavailable {
		t.Run("OK "+name, func(t *testing.T) {
			t.Parallel()
			got := fault.As(fault.Classify(err))
			require.NotNil(t, got)
			require.Equal(t, fault.Unavailable, got.Code)
			require.Positive(t, got.RetryAfter)
			require.ErrorIs(t, got, err, "the cause is kept for the logs")
			require.Equal(t, fault.Unavailable, fault.CodeOf(fault.FromEnt(err, "thing")), "FromEnt classifies it too")
		})
	}
	unchanged := map[string]error{
		"unique violation": &pgconn.PgError{Code: "23505"},
		"other rollback":   &pgconn.PgError{Code: "40002"},
		"query canceled":   &pgconn.PgError{Code: "57014"},
		"plain":            errors.New("boom"),
		"classified":       fault.New(fault.NotFound, "gone"),
	}
	for name, err := range unchanged {
		t.Run("OKUnchanged "+name, func(t *testing.T) {
			t.Parallel()
			require.Same(t, err, fault.Classify(err))
			require.False(t, fault.IsUnavailable(err) && fault.CodeOf(err) != fault.Unavailable)
		})
	}
	require.NoError(t, fault.Classify(nil))
}

// TestFromEntConstraint: a violated constraint is a conflict whether ent ran
// the statement or it was deferred to the commit (a bare PostgreSQL error,
// class 23); other PostgreSQL errors are not.
func TestFromEntConstraint(t *testing.T) {
	t.Parallel()
	deferred := fmt.Errorf("rls: deferred statement: %w", &pgconn.PgError{Code: "23503"})
	require.True(t, fault.IsConstraint(deferred))
	require.Equal(t, fault.Conflict, fault.CodeOf(fault.FromEnt(deferred, "message")))
	require.True(t, fault.IsConstraint(&ent.ConstraintError{}))
	for _, code := range []string{"22012", "42P01", "2", ""} {
		err := &pgconn.PgError{Code: code}
		require.False(t, fault.IsConstraint(err), code)
		require.Equal(t, fault.Internal, fault.CodeOf(fault.FromEnt(err, "message")), code)
	}
}
