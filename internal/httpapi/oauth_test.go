package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/httpapi"
	"atrium/internal/ratelimit"
	"atrium/internal/serviceaccount"
	"atrium/internal/testkit"
)

// TestServiceAccountTokenWire checks the token endpoint's answers as an
// OAuth library sees them on the wire: application/json with error and
// error_description (and the problem fields), never cached, 401 with a
// challenge for invalid_client, even for requests too malformed for the
// generated client to send; rate limits stay problem+json.
func TestServiceAccountTokenWire(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, testkit.SQLite(t), apptest.WithRateLimits(ratelimit.Config{PerIP: ratelimit.PerMinute(1, 40)}))
	ten := env.Tenant()
	admin := env.Member(ten.ID, authz.RoleAdminID).Client
	ctx := env.Ctx
	sa, err := admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "wire", RoleIds: []uuid.UUID{authz.RoleViewerID}})
	require.NoError(t, err)
	k := newSAKey(t, "ES256")
	reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem}, api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
	require.NoError(t, err)
	k.kid = reg.Kid
	aud := env.App.ServiceAccounts.TokenEndpoint()
	endpoint := env.Server.URL + "/api/v1/auth/token"

	post := func(t *testing.T, contentType, body string) (*http.Response, map[string]any) {
		t.Helper()
		res, err := env.Server.Client().Post(endpoint, contentType, strings.NewReader(body))
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), "never cached (RFC 6749 section 5.1)")
		require.Equal(t, "no-cache", res.Header.Get("Pragma"))
		return res, m
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	refused := func(t *testing.T, res *http.Response, m map[string]any, code string) {
		t.Helper()
		require.Equal(t, "application/json", mediaType(t, res), "RFC 6749 section 5.2, not problem+json")
		require.Equal(t, code, m["error"], "%v", m)
		require.NotEmpty(t, m["error_description"])
		require.Equal(t, m["error_description"], m["detail"])
		require.Equal(t, "https://atrium.dev/problems/oauth-"+strings.ReplaceAll(code, "_", "-"), m["type"])
		require.NotEmpty(t, m["request_id"])
		status := http.StatusBadRequest
		if code == "invalid_client" {
			status = http.StatusUnauthorized
			require.Equal(t, `private_key_jwt realm="atrium", error="invalid_client"`, res.Header.Get("WWW-Authenticate"))
		} else {
			require.Empty(t, res.Header.Get("WWW-Authenticate"))
		}
		require.Equal(t, status, res.StatusCode)
		require.EqualValues(t, status, m["status"])
	}

	t.Run("OK", func(t *testing.T) {
		res, m := post(t, formType, form("grant_type", grantJWTBearer, "assertion", k.sign(t, sa.ID, aud, env.Now(), nil)))
		require.Equal(t, http.StatusOK, res.StatusCode, "%v", m)
		require.Equal(t, "application/json", mediaType(t, res))
		require.Equal(t, "Bearer", m["token_type"])
		require.NotEmpty(t, m["access_token"])
	})
	t.Run("ErrMalformedRequest", func(t *testing.T) {
		for name, c := range map[string]struct{ contentType, body string }{
			"JSONBody":         {"application/json", `{"grant_type":"` + grantJWTBearer + `"}`},
			"NoGrantType":      {formType, form("assertion", "x")},
			"BrokenForm":       {formType, "grant_type=%zz&assertion=x"},
			"EmptyBody":        {formType, ""},
			"TooLongGrant":     {formType, form("grant_type", strings.Repeat("g", 300))},
			"TooLongAssertion": {formType, form("grant_type", grantJWTBearer, "assertion", strings.Repeat("a", 9000))},
		} {
			res, m := post(t, c.contentType, c.body)
			refused(t, res, m, "invalid_request")
			_ = name
		}
	})
	t.Run("ErrUnsupportedGrantType", func(t *testing.T) {
		res, m := post(t, formType, form("grant_type", "password", "username", "u", "password", "p"))
		refused(t, res, m, "unsupported_grant_type")
	})
	t.Run("ErrInvalidScope", func(t *testing.T) {
		res, m := post(t, formType, form("grant_type", grantJWTBearer, "assertion", k.sign(t, sa.ID, aud, env.Now(), nil), "scope", "a\\b"))
		refused(t, res, m, "invalid_scope")
	})
	t.Run("ErrInvalidGrant", func(t *testing.T) {
		a := k.sign(t, sa.ID, aud, env.Now(), nil)
		res, m := post(t, formType, form("grant_type", grantJWTBearer, "assertion", a))
		require.Equal(t, http.StatusOK, res.StatusCode, "%v", m)
		res, m = post(t, formType, form("grant_type", grantJWTBearer, "assertion", a))
		refused(t, res, m, "invalid_grant")
		require.Equal(t, "the assertion's jti was already used", m["error_description"])
	})
	t.Run("ErrInvalidClient", func(t *testing.T) {
		res, m := post(t, formType, form("grant_type", "client_credentials"))
		refused(t, res, m, "invalid_client")
		res, m = post(t, formType, form("grant_type", "client_credentials", "client_assertion_type", clientAssertionType,
			"client_assertion", k.sign(t, sa.ID, "https://elsewhere.example/token", env.Now(), nil)))
		refused(t, res, m, "invalid_client")
	})
	t.Run("RateLimitedStaysProblem", func(t *testing.T) {
		var res *http.Response
		for range 60 {
			var err error
			res, err = env.Server.Client().Post(endpoint, formType, strings.NewReader(form("grant_type", "password")))
			require.NoError(t, err)
			res.Body.Close()
			if res.StatusCode == http.StatusTooManyRequests {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
		require.Equal(t, "application/problem+json", mediaType(t, res))
		require.NotEmpty(t, res.Header.Get("Retry-After"))
		require.Equal(t, "no-cache", res.Header.Get("Pragma"))
	})
}

func mediaType(t *testing.T, res *http.Response) string {
	t.Helper()
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	require.NoError(t, err)
	return mt
}

// stubServiceAccounts answers Token with err; nothing else is called.
type stubServiceAccounts struct {
	httpapi.ServiceAccounts
	err error
}

func (s stubServiceAccounts) Token(context.Context, string, string) (*serviceaccount.Issued, error) {
	return nil, s.err
}

// TestServiceAccountTokenFailures: a refusal is the OAuth error of its
// grant; a database that is down is a 503 problem (with Retry-After), never
// an OAuth error that would tell the service its key is wrong.
func TestServiceAccountTokenFailures(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	down := fault.Classify(fmt.Errorf("load: %w", &pgconn.PgError{Code: "57P01"}))
	ctx := context.Background()
	bearer := &api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString("a.b.c")}
	client := &api.ServiceAccountTokenRequest{GrantType: "client_credentials",
		ClientAssertionType: api.NewOptString(clientAssertionType), ClientAssertion: api.NewOptString("a.b.c")}

	h := httpapi.NewHandler(httpapi.Services{ServiceAccounts: stubServiceAccounts{err: down}}, log)
	for _, req := range []*api.ServiceAccountTokenRequest{bearer, client} {
		res, err := h.ServiceAccountToken(ctx, req)
		require.Nil(t, res)
		require.Equal(t, http.StatusServiceUnavailable, h.NewError(ctx, err).StatusCode)
	}
	for reason, want := range map[string][2]string{
		"signature": {"invalid_grant", "invalid_client"},
		"disabled":  {"invalid_grant", "unauthorized_client"},
		"replay":    {"invalid_grant", "invalid_client"},
	} {
		h := httpapi.NewHandler(httpapi.Services{ServiceAccounts: stubServiceAccounts{
			err: &serviceaccount.Refusal{Reason: reason, Verified: reason != "signature"}}}, log)
		for i, req := range []*api.ServiceAccountTokenRequest{bearer, client} {
			res, err := h.ServiceAccountToken(ctx, req)
			require.NoError(t, err)
			var got api.ServiceAccountTokenError
			switch r := res.(type) {
			case *api.ServiceAccountTokenErrorHeaders:
				got = r.Response
			case *api.ServiceAccountTokenUnauthorizedHeaders:
				got = r.Response
			}
			require.Equal(t, want[i], string(got.Error), reason)
		}
	}
}
