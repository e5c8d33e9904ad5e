package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/gen/api"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/serviceaccount"
)

// ServiceAccounts is what the handler needs of the service-account service.
type ServiceAccounts interface {
	Create(ctx context.Context, in serviceaccount.CreateInput) (*serviceaccount.Account, error)
	List(ctx context.Context, cursor string, limit int) (page.Page[*serviceaccount.Account], error)
	Get(ctx context.Context, id uuid.UUID) (*serviceaccount.Account, error)
	Update(ctx context.Context, id uuid.UUID, in serviceaccount.UpdateInput) (*serviceaccount.Account, error)
	Delete(ctx context.Context, id uuid.UUID) error
	SetRoles(ctx context.Context, id uuid.UUID, roleIDs []uuid.UUID, administration bool) (*serviceaccount.Account, error)
	AddKey(ctx context.Context, id uuid.UUID, in serviceaccount.KeyInput) (*ent.ServiceAccountKey, error)
	RevokeKey(ctx context.Context, id, keyID uuid.UUID) error
	Token(ctx context.Context, assertion, clientID string) (*serviceaccount.Issued, error)
}

// The grant types and the client assertion type of RFC 7523.
const (
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantClientCredentials = "client_credentials"
	clientAssertionType    = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// ServiceAccountToken implements serviceAccountToken.
// POST /auth/token
//
// Its refusals are OAuth error responses (see oauthError); failures that are
// not the caller's (a dependency down, a rate limit) are problems as on every
// other operation.
func (h *Handler) ServiceAccountToken(ctx context.Context, req *api.ServiceAccountTokenRequest) (api.ServiceAccountTokenRes, error) {
	if h.serviceAccounts == nil {
		return nil, fault.New(fault.NotFound, "service accounts are not available")
	}
	var assertion string
	clientAuth := false // the assertion authenticates the client (section 2.2)
	switch req.GrantType {
	case grantJWTBearer:
		a, ok := req.Assertion.Get()
		switch {
		case !ok || a == "":
			return oauthError(ctx, oauthInvalidRequest, "assertion is required for the jwt-bearer grant", "assertion"), nil
		case req.ClientAssertion.Set || req.ClientAssertionType.Set:
			return oauthError(ctx, oauthInvalidRequest, "the jwt-bearer grant takes assertion, not client_assertion", "client_assertion"), nil
		}
		assertion = a
	case grantClientCredentials:
		clientAuth = true
		a, ok := req.ClientAssertion.Get()
		typ, typOK := req.ClientAssertionType.Get()
		switch {
		case req.Assertion.Set:
			return oauthError(ctx, oauthInvalidRequest, "grant_type=client_credentials takes client_assertion, not assertion", "assertion"), nil
		case !typOK && !ok:
			// RFC 6749 section 5.2: no client authentication included.
			return oauthError(ctx, oauthInvalidClient, "client authentication is required: client_assertion_type="+clientAssertionType+" and client_assertion", ""), nil
		case typOK && typ != clientAssertionType:
			return oauthError(ctx, oauthInvalidClient, "the only client authentication is client_assertion_type="+clientAssertionType, "client_assertion_type"), nil
		case !typOK:
			return oauthError(ctx, oauthInvalidRequest, "client_assertion_type is required with client_assertion", "client_assertion_type"), nil
		case !ok || a == "":
			return oauthError(ctx, oauthInvalidRequest, "client_assertion is required with client_assertion_type", "client_assertion"), nil
		}
		assertion = a
	case "":
		return oauthError(ctx, oauthInvalidRequest, "grant_type is required", "grant_type"), nil
	default:
		return oauthError(ctx, oauthUnsupportedGrantType, "grant_type must be "+grantJWTBearer+" or "+grantClientCredentials, "grant_type"), nil
	}
	if sc, ok := req.Scope.Get(); ok && !validScope(sc) {
		return oauthError(ctx, oauthInvalidScope, "scope must be space-separated scope tokens (RFC 6749 section 3.3)", "scope"), nil
	}
	t, err := h.serviceAccounts.Token(ctx, assertion, req.ClientID.Or(""))
	var refused *serviceaccount.Refusal
	switch {
	case errors.As(err, &refused):
		code := oauthInvalidGrant // RFC 7523 section 3.1
		if clientAuth {
			code = oauthInvalidClient // section 3.2
			if refused.Reason == "disabled" && refused.Verified {
				// It authenticated, but may not obtain tokens.
				code = oauthUnauthorizedClient
			}
		}
		return oauthError(ctx, code, refused.Described(), ""), nil
	case err != nil:
		return nil, err // 503, 500: a problem
	}
	return &api.ServiceAccountTokenResponseHeaders{
		CacheControl: api.ServiceAccountTokenOKCacheControlNoStore, Pragma: api.ServiceAccountTokenOKPragmaNoCache,
		Response: api.ServiceAccountTokenResponse{AccessToken: t.AccessToken, TokenType: api.ServiceAccountTokenResponseTokenTypeBearer,
			ExpiresIn: int(t.ExpiresIn.Seconds()), ServiceAccountID: t.ServiceAccountID, TenantID: t.TenantID}}, nil
}

// ListServiceAccounts implements listServiceAccounts.
// GET /service-accounts
func (h *Handler) ListServiceAccounts(ctx context.Context, p api.ListServiceAccountsParams) (*api.ServiceAccountPage, error) {
	pg, err := h.serviceAccounts.List(ctx, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.ServiceAccountPage{Items: make([]api.ServiceAccount, 0, len(pg.Items))}
	for _, a := range pg.Items {
		out.Items = append(out.Items, *toServiceAccount(a))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// CreateServiceAccount implements createServiceAccount.
// POST /service-accounts
func (h *Handler) CreateServiceAccount(ctx context.Context, req *api.ServiceAccountCreate) (*api.ServiceAccount, error) {
	a, err := h.serviceAccounts.Create(ctx, serviceaccount.CreateInput{Name: req.Name, Description: req.Description.Or(""),
		RoleIDs: req.RoleIds, Administration: req.Administration.Or(false)})
	if err != nil {
		return nil, err
	}
	return toServiceAccount(a), nil
}

// GetServiceAccount implements getServiceAccount.
// GET /service-accounts/{serviceAccountId}
func (h *Handler) GetServiceAccount(ctx context.Context, p api.GetServiceAccountParams) (*api.ServiceAccount, error) {
	a, err := h.serviceAccounts.Get(ctx, p.ServiceAccountId)
	if err != nil {
		return nil, err
	}
	return toServiceAccount(a), nil
}

// UpdateServiceAccount implements updateServiceAccount.
// PATCH /service-accounts/{serviceAccountId}
func (h *Handler) UpdateServiceAccount(ctx context.Context, req *api.ServiceAccountUpdate, p api.UpdateServiceAccountParams) (*api.ServiceAccount, error) {
	var in serviceaccount.UpdateInput
	if v, ok := req.Name.Get(); ok {
		in.Name = &v
	}
	if v, ok := req.Description.Get(); ok {
		in.Description = &v
	}
	if v, ok := req.Disabled.Get(); ok {
		in.Disabled = &v
	}
	a, err := h.serviceAccounts.Update(ctx, p.ServiceAccountId, in)
	if err != nil {
		return nil, err
	}
	return toServiceAccount(a), nil
}

// DeleteServiceAccount implements deleteServiceAccount.
// DELETE /service-accounts/{serviceAccountId}
func (h *Handler) DeleteServiceAccount(ctx context.Context, p api.DeleteServiceAccountParams) error {
	return h.serviceAccounts.Delete(ctx, p.ServiceAccountId)
}

// SetServiceAccountRoles implements setServiceAccountRoles.
// PUT /service-accounts/{serviceAccountId}/roles
func (h *Handler) SetServiceAccountRoles(ctx context.Context, req *api.ServiceAccountRoles, p api.SetServiceAccountRolesParams) (*api.ServiceAccount, error) {
	a, err := h.serviceAccounts.SetRoles(ctx, p.ServiceAccountId, req.RoleIds, req.Administration.Or(false))
	if err != nil {
		return nil, err
	}
	return toServiceAccount(a), nil
}

// AddServiceAccountKey implements addServiceAccountKey.
// POST /service-accounts/{serviceAccountId}/keys
func (h *Handler) AddServiceAccountKey(ctx context.Context, req *api.ServiceAccountKeyCreate, p api.AddServiceAccountKeyParams) (*api.ServiceAccountKey, error) {
	in := serviceaccount.KeyInput{PublicKey: req.PublicKey, Kid: req.Kid.Or("")}
	if v, ok := req.ExpiresAt.Get(); ok {
		in.ExpiresAt = &v
	}
	k, err := h.serviceAccounts.AddKey(ctx, p.ServiceAccountId, in)
	if err != nil {
		return nil, err
	}
	out := toServiceAccountKey(k, time.Now())
	return &out, nil
}

// RevokeServiceAccountKey implements revokeServiceAccountKey.
// DELETE /service-accounts/{serviceAccountId}/keys/{keyId}
func (h *Handler) RevokeServiceAccountKey(ctx context.Context, p api.RevokeServiceAccountKeyParams) error {
	return h.serviceAccounts.RevokeKey(ctx, p.ServiceAccountId, p.KeyId)
}

func toServiceAccount(a *serviceaccount.Account) *api.ServiceAccount {
	now := time.Now()
	out := &api.ServiceAccount{ID: a.ID, TenantID: a.TenantID, Name: a.Name, Description: a.Description,
		RoleIds: a.RoleIds, Administration: a.Administration, Permissions: a.Permissions,
		Keys: make([]api.ServiceAccountKey, 0, len(a.Keys)), Disabled: a.DisabledAt != nil,
		CreatedAt: a.CreatedAt, CreatedBy: a.CreatedBy}
	if out.RoleIds == nil {
		out.RoleIds = []uuid.UUID{}
	}
	if out.Permissions == nil {
		out.Permissions = []string{}
	}
	if a.DisabledAt != nil {
		out.DisabledAt = api.NewOptDateTime(*a.DisabledAt)
	}
	for _, k := range a.Keys {
		out.Keys = append(out.Keys, toServiceAccountKey(k, now))
	}
	return out
}

func toServiceAccountKey(k *ent.ServiceAccountKey, now time.Time) api.ServiceAccountKey {
	out := api.ServiceAccountKey{ID: k.ID, Kid: k.Kid, Thumbprint: serviceaccount.KeyThumbprint(k), Alg: api.ServiceAccountKeyAlg(k.Alg), PublicKey: k.PublicKey,
		CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy,
		Active: k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(now))}
	if k.ExpiresAt != nil {
		out.ExpiresAt = api.NewOptDateTime(*k.ExpiresAt)
	}
	if k.RevokedAt != nil {
		out.RevokedAt = api.NewOptDateTime(*k.RevokedAt)
	}
	if k.LastUsedAt != nil {
		out.LastUsedAt = api.NewOptDateTime(*k.LastUsedAt)
	}
	return out
}
