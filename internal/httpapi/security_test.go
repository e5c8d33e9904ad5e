package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/httpapi"
)

type stubVerifier struct{ err error }

func (s stubVerifier) VerifyAccess(context.Context, string) (httpapi.Principal, error) {
	return httpapi.Principal{UserID: uuid.New(), TenantID: uuid.New(), SessionID: uuid.New()}, s.err
}

type stubSessions struct{ err error }

func (s stubSessions) Check(context.Context, uuid.UUID, uuid.UUID, uuid.UUID) error { return s.err }

type stubPerms struct{ err error }

func (s stubPerms) Permissions(context.Context, uuid.UUID, uuid.UUID) (*authz.Set, error) {
	if s.err != nil {
		return nil, s.err
	}
	return authz.NewSet("*"), nil
}

type stubAudit struct{}

func (stubAudit) Log(context.Context, audit.Event) {}

// TestAuthenticationFailures: what the client gets when authentication
// fails, through the one mapper as ogen delivers it (a SecurityError). Only a
// token or session that is really not valid is 401; a failed lookup is 503
// (dependency down) or 500 (anything else), never 401.
func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	down := fmt.Errorf("authz: membership: %w", &pgconn.PgError{Code: "57P01"})
	for _, tc := range []struct {
		name              string
		verify, sess, per error
		want              int
	}{
		{name: "OK", want: 0},
		{name: "ErrBadToken", verify: fault.New(fault.Unauthenticated, "the access token is not valid"), want: http.StatusUnauthorized},
		{name: "ErrSessionEnded", sess: fault.New(fault.Unauthenticated, "the session has ended"), want: http.StatusUnauthorized},
		{name: "ErrNotMember", per: fault.New(fault.Unauthenticated, "not an active member"), want: http.StatusUnauthorized},
		{name: "ErrPermissionsDatabaseDown", per: down, want: http.StatusServiceUnavailable},
		{name: "ErrSessionDatabaseDown", sess: down, want: http.StatusServiceUnavailable},
		{name: "ErrPermissionsUnknown", per: errors.New("a bug"), want: http.StatusInternalServerError},
		{name: "ErrVerifierUnknown", verify: errors.New("a bug"), want: http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := httpapi.NewSecurityHandler(stubVerifier{tc.verify}, stubSessions{tc.sess}, stubPerms{tc.per}, stubAudit{}, log)
			ctx := context.Background()
			_, err := s.HandleBearerAuth(ctx, api.GetMeOperation, api.BearerAuth{Token: "t", Roles: []string{string(authz.AccountManage)}})
			if tc.want == 0 {
				require.NoError(t, err)
				return
			}
			p := httpapi.Problem(ctx, log, &ogenerrors.SecurityError{Security: "BearerAuth", Err: err})
			require.Equal(t, tc.want, p.StatusCode, "%v", err)
		})
	}
}
