package httpapi

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"atrium/gen/api"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// PublicOperations are the only operations callable without a token. Each
// must say `security: []` in openapi.yaml; a test checks both directions.
var PublicOperations = []api.OperationName{
	api.GetHealthOperation,
	api.GetReadyOperation,
	api.RegisterDeviceOptionsOperation, // with an invitation, or optionally a bearer token
	api.RegisterDeviceOperation,        // idem
	api.LoginOptionsOperation,
	api.LoginOperation,
	api.ExchangeTokenOperation,
	api.ServiceAccountTokenOperation, // a signed JWT assertion (RFC 7523) is the credential
}

// PublicRoutes are the public routes served beside the generated API.
var PublicRoutes = []string{
	"GET /.well-known/jwks.json",
	"GET / and its static files (the web console, web.Patterns)",
	"GET /openapi.json and GET /openapi.yaml (the contract, ContractRoutes)",
	"GET /docs and its files (the API reference, web.DocsPatterns)",
}

// Principal is who a verified access token names: a user in a session, or a
// service account (UserID is then its id, SessionID nil), and when the token
// expires (the real-time hub closes a connection then).
type Principal struct {
	UserID, TenantID, SessionID uuid.UUID
	ExpiresAt                   time.Time
	ServiceAccount              bool
}

// ServiceAccountResolver returns a service account's effective permissions,
// or an Unauthenticated error when it is disabled or gone.
type ServiceAccountResolver interface {
	Permissions(ctx context.Context, tenantID, id uuid.UUID) (*authz.Set, error)
}

// TokenVerifier verifies access tokens. A token that is not valid is a
// fault.Unauthenticated error; any other error means the token could not be
// checked (503 or 500, never 401).
type TokenVerifier interface {
	VerifyAccess(ctx context.Context, token string) (Principal, error)
}

// SessionChecker reports whether a session is still active.
type SessionChecker interface {
	Check(ctx context.Context, sid, userID, tenantID uuid.UUID) error
}

// PermissionResolver returns a member's effective permissions.
type PermissionResolver interface {
	Permissions(ctx context.Context, tenantID, userID uuid.UUID) (*authz.Set, error)
}

// Auditor records security events.
type Auditor interface {
	Log(ctx context.Context, e audit.Event)
}

// SecurityHandler implements api.SecurityHandler: token -> session -> viewer
// -> the operation's permission.
type SecurityHandler struct {
	tokens   TokenVerifier
	sessions SessionChecker
	perms    PermissionResolver
	accounts ServiceAccountResolver
	audit    Auditor
	log      *slog.Logger
}

var _ api.SecurityHandler = (*SecurityHandler)(nil)

// NewSecurityHandler returns a SecurityHandler.
func NewSecurityHandler(t TokenVerifier, s SessionChecker, p PermissionResolver, a Auditor, log *slog.Logger) *SecurityHandler {
	return &SecurityHandler{tokens: t, sessions: s, perms: p, audit: a, log: log}
}

// WithServiceAccounts makes s accept service accounts' access tokens,
// resolving their permissions with r; without it they are refused.
func (s *SecurityHandler) WithServiceAccounts(r ServiceAccountResolver) *SecurityHandler {
	s.accounts = r
	return s
}

// ActionPermissionDenied is audited when a member lacks an operation's permission.
const ActionPermissionDenied = "authz.permission_denied"

// HandleBearerAuth implements api.SecurityHandler.
func (s *SecurityHandler) HandleBearerAuth(ctx context.Context, op api.OperationName, t api.BearerAuth) (context.Context, error) {
	if len(t.Roles) != 1 {
		// The spec test makes this impossible; fail closed if it happens.
		return ctx, fault.New(fault.Internal, "operation %s has no single permission", op)
	}
	ctx, _, err := s.Authenticate(ctx, t.Token)
	if err != nil {
		return ctx, err
	}
	if need := t.Roles[0]; !viewer.FromContext(ctx).Allows(need) {
		s.audit.Log(ctx, audit.Event{Action: ActionPermissionDenied, Outcome: audit.Denied,
			Details: map[string]string{"permission": need, "operation": string(op)}})
		return ctx, fault.New(fault.Forbidden, "missing permission %s", need)
	}
	return ctx, nil
}

// IsPublic reports whether op is in PublicOperations.
func IsPublic(op api.OperationName) bool { return slices.Contains(PublicOperations, op) }

func currentSession(ctx context.Context) uuid.UUID {
	if v := viewer.FromContext(ctx); v != nil {
		return v.SessionID
	}
	return uuid.Nil
}

// Authenticate turns an access token into a context carrying its viewer,
// with the same checks as the API's bearer authentication but no operation
// permission (the real-time hub checks each subscription itself).
func (s *SecurityHandler) Authenticate(ctx context.Context, token string) (context.Context, Principal, error) {
	p, err := s.tokens.VerifyAccess(ctx, token)
	if err != nil {
		return ctx, Principal{}, decided(err)
	}
	if p.ServiceAccount {
		// No session: the account itself is checked on every request.
		if s.accounts == nil {
			return ctx, Principal{}, fault.New(fault.Unauthenticated, "the access token is not valid")
		}
		perms, err := s.accounts.Permissions(ctx, p.TenantID, p.UserID)
		if err != nil {
			return ctx, Principal{}, decided(err)
		}
		v := &viewer.Viewer{UserID: p.UserID, TenantID: p.TenantID, Perms: perms, ServiceAccount: true}
		return viewer.NewContext(ctx, v), p, nil
	}
	if err := s.sessions.Check(ctx, p.SessionID, p.UserID, p.TenantID); err != nil {
		return ctx, Principal{}, decided(err)
	}
	perms, err := s.perms.Permissions(ctx, p.TenantID, p.UserID)
	if err != nil {
		return ctx, Principal{}, decided(err)
	}
	v := &viewer.Viewer{UserID: p.UserID, TenantID: p.TenantID, SessionID: p.SessionID, Perms: perms}
	return viewer.NewContext(ctx, v), p, nil
}

// decided keeps the code of a classified error (a bad token or an ended
// session is Unauthenticated) and classifies the rest: a dependency that is
// down is Unavailable (503), anything else Internal (500, logged). An error
// nobody classified never becomes 401: a valid token must not be rejected
// because a lookup failed.
func decided(err error) error {
	err = fault.Classify(err)
	if fault.As(err) == nil {
		err = fault.Wrap(err, fault.Internal, "internal error")
	}
	return err
}
