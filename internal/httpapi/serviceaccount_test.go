package httpapi_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/authz"
)

// saKey is a service's key pair as the test (the service) holds it.
type saKey struct {
	priv   crypto.Signer
	method jwt.SigningMethod
	pem    string
	kid    string
}

func newSAKey(t testing.TB, alg string) *saKey {
	t.Helper()
	var priv crypto.Signer
	var method jwt.SigningMethod
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		method = jwt.SigningMethodRS256
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		method = jwt.SigningMethodES256
	default:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
		method = jwt.SigningMethodEdDSA
	}
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	require.NoError(t, err)
	return &saKey{priv: priv, method: method, pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// jwk is the public JWK of the key, with extra members set (nil: removed).
func (k *saKey) jwk(t testing.TB, extra map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	var m map[string]any
	switch p := k.priv.Public().(type) {
	case *rsa.PublicKey:
		m = map[string]any{"kty": "RSA", "n": enc(p.N.Bytes()), "e": enc(big.NewInt(int64(p.E)).Bytes())}
	case *ecdsa.PublicKey:
		b, err := p.Bytes()
		require.NoError(t, err)
		m = map[string]any{"kty": "EC", "crv": "P-256", "x": enc(b[1:33]), "y": enc(b[33:])}
	case ed25519.PublicKey:
		m = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(p)}
	}
	for name, v := range extra {
		if v == nil {
			delete(m, name)
		} else {
			m[name] = v
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// sign makes an assertion for account id, edited by edit.
func (k *saKey) sign(t testing.TB, id uuid.UUID, aud string, now time.Time, edit func(h, c map[string]any)) string {
	t.Helper()
	c := map[string]any{"iss": id.String(), "sub": id.String(), "aud": aud, "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": uuid.NewString()}
	tok := jwt.NewWithClaims(k.method, jwt.MapClaims(c))
	tok.Header["kid"] = k.kid
	if edit != nil {
		edit(tok.Header, c)
	}
	s, err := tok.SignedString(k.priv)
	require.NoError(t, err)
	return s
}

// handMade signs header.payload with HMAC-SHA256 under secret, or not at all.
func handMade(t *testing.T, header, claims map[string]any, secret []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	if secret == nil {
		return in + "."
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestServiceAccounts: a service signs an assertion with its private key
// and gets an access token acting with its roles; every attack on the
// exchange or with the token fails, on both databases.
func TestServiceAccounts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, admin, env := bu.ctx, bu.a.Client, bu.env
		aud := env.App.ServiceAccounts.TokenEndpoint()
		anon := env.Client("")

		sa, err := admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "billing-sync",
			RoleIds: []uuid.UUID{authz.RoleMemberID}})
		require.NoError(t, err)
		require.Contains(t, sa.Permissions, authz.ConversationCreate)
		require.NotContains(t, sa.Permissions, authz.AccountManage, "no devices or sessions of its own")
		keys := map[string]*saKey{}
		for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
			k := newSAKey(t, alg)
			reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
			require.NoError(t, err)
			require.Equal(t, alg, string(reg.Alg))
			require.True(t, reg.Active)
			k.kid = reg.Kid
			keys[alg] = k
		}
		exchange := func(assertion string) (*api.ServiceAccountTokenResponse, error) {
			return saToken(ctx, anon, &api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString(assertion)})
		}
		asClient := func(assertion string) (*api.ServiceAccountTokenResponse, error) {
			return saToken(ctx, anon, &api.ServiceAccountTokenRequest{GrantType: "client_credentials",
				ClientAssertionType: api.NewOptString(clientAssertionType), ClientAssertion: api.NewOptString(assertion)})
		}
		// refused: the assertion fails in both grants, with the OAuth code
		// each one calls for (RFC 7523 sections 3.1 and 3.2), says why only
		// to whoever signed it with the account's key, and is audited.
		refused := func(t *testing.T, assertion, reason string) {
			t.Helper()
			_, err := exchange(assertion)
			r := requireOAuth(t, err, "invalid_grant")
			_, err = asClient(assertion)
			if reason == "disabled" {
				requireOAuth(t, err, "unauthorized_client")
			} else {
				requireOAuth(t, err, "invalid_client")
			}
			switch reason {
			case "expired", "not_yet_valid", "audience", "lifetime", "replay", "disabled":
				require.NotEqual(t, "the assertion is not valid", r.body.ErrorDescription.Or(""), "the key's holder learns why")
			case "signature", "algorithm", "unknown_key", "key_revoked", "key_expired", "unknown_service_account", "client_id":
				require.Equal(t, "the assertion is not valid", r.body.ErrorDescription.Or(""), "no oracle for someone without the key")
			}
			if reason == "" {
				return
			}
			ev, err := admin.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("auth.service_account.token_refused"),
				ResourceID: api.NewOptUUID(sa.ID), Limit: api.NewOptInt(1)})
			require.NoError(t, err)
			require.NotEmpty(t, ev.Items)
			require.Equal(t, reason, ev.Items[0].Details.Value["reason"], "the refusal is audited with its reason")
		}

		t.Run("OK", func(t *testing.T) {
			for alg, k := range keys {
				res, err := exchange(k.sign(t, sa.ID, aud, env.Now(), nil))
				require.NoError(t, err, alg)
				require.Equal(t, sa.ID, res.ServiceAccountID)
				require.Equal(t, bu.tenantA, res.TenantID)
				require.Positive(t, res.ExpiresIn)
				c := env.Client(res.AccessToken)
				conv, err := c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("from " + alg)})
				require.NoError(t, err, "the token acts with the account's roles")
				require.Equal(t, sa.ID, conv.CreatedBy)
				_, err = c.GetConversation(ctx, api.GetConversationParams{ConversationId: bu.convA.ID})
				requireStatus(t, err, 404) // not shared with it, not its own
			}
			// RFC 7523 section 2.2: client_credentials with a client assertion.
			res, err := saToken(ctx, anon, &api.ServiceAccountTokenRequest{
				GrantType:           "client_credentials",
				ClientAssertionType: api.NewOptString(clientAssertionType),
				ClientAssertion:     api.NewOptString(keys["ES256"].sign(t, sa.ID, aud, env.Now(), nil)),
				ClientID:            api.NewOptString(sa.ID.String()), Scope: api.NewOptString("conversation.read openid")})
			require.NoError(t, err)
			require.Equal(t, sa.ID, res.ServiceAccountID)

			ev, err := admin.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("auth.service_account.token_issued"),
				ResourceID: api.NewOptUUID(sa.ID)})
			require.NoError(t, err)
			require.Len(t, ev.Items, 4, "every issue is audited")
			got, err := admin.GetServiceAccount(ctx, api.GetServiceAccountParams{ServiceAccountId: sa.ID})
			require.NoError(t, err)
			require.True(t, got.Keys[0].LastUsedAt.Set)
		})
		t.Run("ErrBadRequest", func(t *testing.T) {
			a := func() string { return keys["RS256"].sign(t, sa.ID, aud, env.Now(), nil) }
			for name, c := range map[string]struct {
				req  api.ServiceAccountTokenRequest
				code string
			}{
				"NoAssertion":            {api.ServiceAccountTokenRequest{GrantType: grantJWTBearer}, "invalid_request"},
				"EmptyAssertion":         {api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString("")}, "invalid_request"},
				"BearerWithClientAssert": {api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString(a()), ClientAssertion: api.NewOptString(a())}, "invalid_request"},
				"NoClientAssertionType":  {api.ServiceAccountTokenRequest{GrantType: "client_credentials", ClientAssertion: api.NewOptString(a())}, "invalid_request"},
				"NoClientAssertion":      {api.ServiceAccountTokenRequest{GrantType: "client_credentials", ClientAssertionType: api.NewOptString(clientAssertionType)}, "invalid_request"},
				"NoClientAuthentication": {api.ServiceAccountTokenRequest{GrantType: "client_credentials"}, "invalid_client"},
				"OtherClientAuthMethod":  {api.ServiceAccountTokenRequest{GrantType: "client_credentials", ClientAssertionType: api.NewOptString("urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), ClientAssertion: api.NewOptString(a())}, "invalid_client"},
				"CredentialsWithGrant":   {api.ServiceAccountTokenRequest{GrantType: "client_credentials", ClientAssertionType: api.NewOptString(clientAssertionType), ClientAssertion: api.NewOptString(a()), Assertion: api.NewOptString(a())}, "invalid_request"},
				"EmptyGrantType":         {api.ServiceAccountTokenRequest{GrantType: "", Assertion: api.NewOptString(a())}, "invalid_request"},
				"PasswordGrant":          {api.ServiceAccountTokenRequest{GrantType: "password", Assertion: api.NewOptString(a())}, "unsupported_grant_type"},
				"RefreshGrant":           {api.ServiceAccountTokenRequest{GrantType: "refresh_token", Assertion: api.NewOptString(a())}, "unsupported_grant_type"},
				"SAMLGrant":              {api.ServiceAccountTokenRequest{GrantType: "urn:ietf:params:oauth:grant-type:saml2-bearer", Assertion: api.NewOptString(a())}, "unsupported_grant_type"},
				"MalformedScope":         {api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString(a()), Scope: api.NewOptString(`a "quoted" scope`)}, "invalid_scope"},
				"ScopeWithDoubleSpace":   {api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString(a()), Scope: api.NewOptString("a  b")}, "invalid_scope"},
				"GarbageAssertion":       {api.ServiceAccountTokenRequest{GrantType: grantJWTBearer, Assertion: api.NewOptString("not.a.jwt")}, "invalid_grant"},
				"GarbageClientAssertion": {api.ServiceAccountTokenRequest{GrantType: "client_credentials", ClientAssertionType: api.NewOptString(clientAssertionType), ClientAssertion: api.NewOptString("x")}, "invalid_client"},
			} {
				_, err := saToken(ctx, anon, &c.req)
				requireOAuth(t, err, c.code, name)
			}
			// RFC 7521 section 4.2: a client_id must name the assertion's subject.
			for _, grant := range []string{grantJWTBearer, "client_credentials"} {
				req := &api.ServiceAccountTokenRequest{GrantType: grant, ClientID: api.NewOptString(uuid.NewString())}
				if grant == grantJWTBearer {
					req.Assertion = api.NewOptString(a())
				} else {
					req.ClientAssertionType, req.ClientAssertion = api.NewOptString(clientAssertionType), api.NewOptString(a())
				}
				_, err := saToken(ctx, anon, req)
				requireOAuth(t, err, map[string]string{grantJWTBearer: "invalid_grant", "client_credentials": "invalid_client"}[grant])
			}
			ev, err := admin.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("auth.service_account.token_refused"),
				ResourceID: api.NewOptUUID(sa.ID), Limit: api.NewOptInt(1)})
			require.NoError(t, err)
			require.Equal(t, "client_id", ev.Items[0].Details.Value["reason"], "refused before any token is issued, and audited")
		})
		t.Run("JWK", func(t *testing.T) {
			// The same three keys, as JWKs, on two fresh accounts; and as PEM on a third.
			viaJWK, err := admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "jwk-sync", RoleIds: []uuid.UUID{authz.RoleMemberID}})
			require.NoError(t, err)
			viaPEM, err := admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "pem-sync", RoleIds: []uuid.UUID{authz.RoleMemberID}})
			require.NoError(t, err)
			for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
				k := newSAKey(t, alg)
				reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.jwk(t, map[string]any{"alg": alg, "use": "sig"})},
					api.AddServiceAccountKeyParams{ServiceAccountId: viaJWK.ID})
				require.NoError(t, err, alg)
				require.Equal(t, alg, string(reg.Alg))
				require.Equal(t, reg.Thumbprint, reg.Kid, "the default kid is the RFC 7638 thumbprint")
				require.Contains(t, reg.PublicKey, "BEGIN PUBLIC KEY", "stored and shown as PEM")
				same, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
					api.AddServiceAccountKeyParams{ServiceAccountId: viaPEM.ID})
				require.NoError(t, err)
				require.Equal(t, reg.Thumbprint, same.Thumbprint, "one key, one thumbprint, PEM or JWK")
				require.Equal(t, reg.Kid, same.Kid)
				_, err = admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
					api.AddServiceAccountKeyParams{ServiceAccountId: viaJWK.ID})
				requireStatus(t, err, 409) // the same key twice on one account
				k.kid = reg.Kid
				res, err := exchange(k.sign(t, viaJWK.ID, aud, env.Now(), nil))
				require.NoError(t, err, "a key registered as a JWK signs assertions (%s)", alg)
				_, err = env.Client(res.AccessToken).ListConversations(ctx, api.ListConversationsParams{})
				require.NoError(t, err)
			}
			// A kid of the service's own: from the JWK, or given beside the key.
			k := newSAKey(t, "EdDSA")
			reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.jwk(t, map[string]any{"kid": "billing-2026-12"})},
				api.AddServiceAccountKeyParams{ServiceAccountId: viaPEM.ID})
			require.NoError(t, err)
			require.Equal(t, "billing-2026-12", reg.Kid)
			require.NotEqual(t, reg.Kid, reg.Thumbprint)
			k.kid = reg.Kid
			_, err = exchange(k.sign(t, viaPEM.ID, aud, env.Now(), nil))
			require.NoError(t, err)
			k2 := newSAKey(t, "ES256")
			reg, err = admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k2.pem, Kid: api.NewOptString("ops-key-1")},
				api.AddServiceAccountKeyParams{ServiceAccountId: viaPEM.ID})
			require.NoError(t, err)
			require.Equal(t, "ops-key-1", reg.Kid)
			got, err := admin.GetServiceAccount(ctx, api.GetServiceAccountParams{ServiceAccountId: viaPEM.ID})
			require.NoError(t, err)
			for _, key := range got.Keys {
				require.Len(t, key.Thumbprint, 43, "every listed key shows its thumbprint")
			}
		})
		t.Run("ErrPrivateOrBadJWK", func(t *testing.T) {
			other, err := admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "jwk-bad"})
			require.NoError(t, err)
			rk := newSAKey(t, "RS256")
			priv := rk.priv.(*rsa.PrivateKey)
			enc := base64.RawURLEncoding.EncodeToString
			ek := newSAKey(t, "ES256")
			small, err := rsa.GenerateKey(rand.Reader, 1024)
			require.NoError(t, err)
			ecD, err := ek.priv.(*ecdsa.PrivateKey).Bytes()
			require.NoError(t, err)
			for name, in := range map[string]string{
				"PrivateRSA":   rk.jwk(t, map[string]any{"d": enc(priv.D.Bytes()), "p": enc(priv.Primes[0].Bytes()), "q": enc(priv.Primes[1].Bytes())}),
				"PrivateEC":    ek.jwk(t, map[string]any{"d": enc(ecD)}),
				"PrivateOKP":   newSAKey(t, "EdDSA").jwk(t, map[string]any{"d": enc(make([]byte, 32))}),
				"OnlyQI":       rk.jwk(t, map[string]any{"qi": "AQAB"}),
				"AlgMismatch":  ek.jwk(t, map[string]any{"alg": "RS256"}),
				"WeakRSA":      (&saKey{priv: small}).jwk(t, nil),
				"UnknownKty":   `{"kty":"oct","k":"c2VjcmV0"}`,
				"UnknownCurve": ek.jwk(t, map[string]any{"crv": "secp256k1"}),
			} {
				_, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: in},
					api.AddServiceAccountKeyParams{ServiceAccountId: other.ID})
				requireStatus(t, err, 400)
				var se *api.ErrorStatusCode
				require.ErrorAs(t, err, &se, name)
				require.Equal(t, "public_key", se.Response.Errors[0].Field, name)
			}
			_, err = admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: ek.jwk(t, map[string]any{"kid": "a"}), Kid: api.NewOptString("b")},
				api.AddServiceAccountKeyParams{ServiceAccountId: other.ID})
			requireStatus(t, err, 400) // two different kids
			got, err := admin.GetServiceAccount(ctx, api.GetServiceAccountParams{ServiceAccountId: other.ID})
			require.NoError(t, err)
			require.Empty(t, got.Keys, "nothing was registered")
		})
		t.Run("ErrForgedSignature", func(t *testing.T) {
			forger := newSAKey(t, "RS256")
			forger.kid = keys["RS256"].kid // claims the registered key
			refused(t, forger.sign(t, sa.ID, aud, env.Now(), nil), "signature")
		})
		t.Run("ErrWrongAudience", func(t *testing.T) {
			refused(t, keys["RS256"].sign(t, sa.ID, "https://elsewhere.example/token", env.Now(), nil), "audience")
			refused(t, keys["RS256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) { delete(c, "aud") }), "claims")
		})
		t.Run("ErrExpired", func(t *testing.T) {
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now().Add(-10*time.Minute), nil), "expired")
		})
		t.Run("ErrNotYetValid", func(t *testing.T) {
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now().Add(10*time.Minute), nil), "not_yet_valid")
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) {
				c["nbf"] = env.Now().Add(3 * time.Minute).Unix()
			}), "not_yet_valid")
		})
		t.Run("ErrUnknownKey", func(t *testing.T) {
			k := newSAKey(t, "ES256")
			k.kid = "never-registered"
			refused(t, k.sign(t, sa.ID, aud, env.Now(), nil), "unknown_key")
			k.kid = ""
			refused(t, k.sign(t, sa.ID, aud, env.Now(), nil), "unknown_key")
			// An account nobody registered: only logged, refused the same way.
			k.kid = keys["ES256"].kid
			refused(t, k.sign(t, uuid.New(), aud, env.Now(), nil), "")
		})
		t.Run("ErrLifetimeOverFiveMinutes", func(t *testing.T) {
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) {
				c["exp"] = env.Now().Add(10 * time.Minute).Unix()
			}), "lifetime")
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) { delete(c, "iat") }), "claims")
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) { delete(c, "jti") }), "claims")
		})
		t.Run("ErrIssuerNotSubject", func(t *testing.T) {
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) { c["iss"] = uuid.NewString() }), "")
		})
		t.Run("ErrReplayedJTI", func(t *testing.T) {
			a := keys["EdDSA"].sign(t, sa.ID, aud, env.Now(), nil)
			_, err := exchange(a)
			require.NoError(t, err)
			refused(t, a, "replay")
			// the same jti in a fresh assertion is a replay too
			b := keys["RS256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) { c["jti"] = "fixed-jti" })
			_, err = exchange(b)
			require.NoError(t, err)
			refused(t, keys["ES256"].sign(t, sa.ID, aud, env.Now(), func(h, c map[string]any) { c["jti"] = "fixed-jti" }), "replay")
		})
		t.Run("ErrAlgNoneAndHS256WithPublicKey", func(t *testing.T) {
			claims := map[string]any{"iss": sa.ID.String(), "sub": sa.ID.String(), "aud": aud, "iat": env.Now().Unix(),
				"exp": env.Now().Add(time.Minute).Unix(), "jti": uuid.NewString()}
			refused(t, handMade(t, map[string]any{"alg": "none", "kid": keys["RS256"].kid}, claims, nil), "algorithm")
			claims["jti"] = uuid.NewString()
			refused(t, handMade(t, map[string]any{"alg": "HS256", "kid": keys["RS256"].kid}, claims, []byte(keys["RS256"].pem)), "algorithm")
			// ES256 signature under the RSA key's kid
			other := newSAKey(t, "ES256")
			other.kid = keys["RS256"].kid
			refused(t, other.sign(t, sa.ID, aud, env.Now(), nil), "algorithm")
		})
		t.Run("ErrRevokedKey", func(t *testing.T) {
			k := newSAKey(t, "ES256")
			reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
			require.NoError(t, err)
			k.kid = reg.Kid
			_, err = exchange(k.sign(t, sa.ID, aud, env.Now(), nil))
			require.NoError(t, err)
			require.NoError(t, admin.RevokeServiceAccountKey(ctx, api.RevokeServiceAccountKeyParams{ServiceAccountId: sa.ID, KeyId: reg.ID}))
			refused(t, k.sign(t, sa.ID, aud, env.Now(), nil), "key_revoked")
		})
		t.Run("ErrExpiredKey", func(t *testing.T) {
			k := newSAKey(t, "EdDSA")
			reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem,
				ExpiresAt: api.NewOptDateTime(env.Now().Add(time.Hour))}, api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
			require.NoError(t, err)
			k.kid = reg.Kid
			a := k.sign(t, sa.ID, aud, env.Now().Add(2*time.Hour), nil)
			env.Advance(2 * time.Hour)
			defer env.Advance(-2 * time.Hour)
			refused(t, a, "key_expired")
			require.NoError(t, admin.RevokeServiceAccountKey(ctx, api.RevokeServiceAccountKeyParams{ServiceAccountId: sa.ID, KeyId: reg.ID}))
		})
		t.Run("ErrDisabledAccount", func(t *testing.T) {
			res, err := exchange(keys["RS256"].sign(t, sa.ID, aud, env.Now(), nil))
			require.NoError(t, err)
			c := env.Client(res.AccessToken)
			_, err = c.ListConversations(ctx, api.ListConversationsParams{})
			require.NoError(t, err)
			_, err = admin.UpdateServiceAccount(ctx, &api.ServiceAccountUpdate{Disabled: api.NewOptBool(true)},
				api.UpdateServiceAccountParams{ServiceAccountId: sa.ID})
			require.NoError(t, err)
			_, err = c.ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 401) // its token stops on the next request
			refused(t, keys["RS256"].sign(t, sa.ID, aud, env.Now(), nil), "disabled")
			// An assertion the account's key did not sign says nothing of it.
			forger := newSAKey(t, "RS256")
			forger.kid = keys["RS256"].kid
			_, err = asClient(forger.sign(t, sa.ID, aud, env.Now(), nil))
			r := requireOAuth(t, err, "invalid_client")
			require.Equal(t, "the assertion is not valid", r.body.ErrorDescription.Or(""))
			_, err = admin.UpdateServiceAccount(ctx, &api.ServiceAccountUpdate{Disabled: api.NewOptBool(false)},
				api.UpdateServiceAccountParams{ServiceAccountId: sa.ID})
			require.NoError(t, err)
			_, err = c.ListConversations(ctx, api.ListConversationsParams{})
			require.NoError(t, err)
		})
		t.Run("ErrOtherTenantsAccount", func(t *testing.T) {
			other := bu.b.Client
			_, err := other.GetServiceAccount(ctx, api.GetServiceAccountParams{ServiceAccountId: sa.ID})
			requireStatus(t, err, 404)
			k := newSAKey(t, "RS256")
			_, err = other.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
			requireStatus(t, err, 404)
			_, err = other.SetServiceAccountRoles(ctx, &api.ServiceAccountRoles{RoleIds: []uuid.UUID{authz.RoleAdminID}},
				api.SetServiceAccountRolesParams{ServiceAccountId: sa.ID})
			requireStatus(t, err, 404)
			requireStatus(t, other.DeleteServiceAccount(ctx, api.DeleteServiceAccountParams{ServiceAccountId: sa.ID}), 404)
			list, err := other.ListServiceAccounts(ctx, api.ListServiceAccountsParams{})
			require.NoError(t, err)
			require.Empty(t, list.Items)
			// B's own account and key, claiming to be A's account.
			bsa, err := other.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "b-svc"})
			require.NoError(t, err)
			reg, err := other.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: bsa.ID})
			require.NoError(t, err)
			k.kid = reg.Kid
			refused(t, k.sign(t, sa.ID, aud, env.Now(), nil), "unknown_key")
			// B's account's token reads nothing of A.
			res, err := exchange(k.sign(t, bsa.ID, aud, env.Now(), nil))
			require.NoError(t, err)
			require.Equal(t, bu.tenantB, res.TenantID)
			_, err = env.Client(res.AccessToken).GetConversation(ctx, api.GetConversationParams{ConversationId: bu.convA.ID})
			require.Error(t, err)
		})
		t.Run("ErrNoDevicesInvitationsOrMembers", func(t *testing.T) {
			// Even an admin-role account without the explicit grant.
			adm, err := admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "admin-ish", RoleIds: []uuid.UUID{authz.RoleAdminID}})
			require.NoError(t, err)
			require.NotContains(t, adm.Permissions, authz.MemberManage, "administrative permissions are withheld")
			require.Contains(t, adm.Permissions, authz.AuditRead)
			k := newSAKey(t, "ES256")
			reg, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: adm.ID})
			require.NoError(t, err)
			k.kid = reg.Kid
			res, err := exchange(k.sign(t, adm.ID, aud, env.Now(), nil))
			require.NoError(t, err)
			c := env.Client(res.AccessToken)
			_, err = c.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{})
			requireStatus(t, err, 403)
			inv, err := admin.CreateInvitation(ctx, &api.InvitationCreate{})
			require.NoError(t, err)
			_, err = c.RegisterDeviceOptions(ctx, &api.RegisterOptionsRequest{Invitation: api.NewOptString(inv.Token)})
			requireStatus(t, err, 403)
			_, err = c.CreateInvitation(ctx, &api.InvitationCreate{})
			requireStatus(t, err, 403)
			_, err = c.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{authz.RoleAdminID}}, api.SetMemberRolesParams{UserId: bu.a.UserID})
			requireStatus(t, err, 403)
			_, err = c.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "child"})
			requireStatus(t, err, 403)
			_, err = c.GetMe(ctx)
			requireStatus(t, err, 403)
			_, err = c.ExchangeToken(ctx, &api.TokenExchangeRequest{GrantType: api.TokenExchangeRequestGrantTypeUrnIetfParamsOAuthGrantTypeTokenExchange,
				SubjectToken: api.NewOptString(res.AccessToken), SubjectTokenType: api.NewOptString("urn:ietf:params:oauth:token-type:access_token"),
				TenantID: api.NewOptUUID(bu.tenantB)})
			requireStatus(t, err, 401)
			_, err = c.ListAuditEvents(ctx, api.ListAuditEventsParams{})
			require.NoError(t, err, "what the role gives, it has")

			// Granted explicitly by an admin who holds them: now it may.
			_, err = admin.SetServiceAccountRoles(ctx, &api.ServiceAccountRoles{RoleIds: []uuid.UUID{authz.RoleAdminID},
				Administration: api.NewOptBool(true)}, api.SetServiceAccountRolesParams{ServiceAccountId: adm.ID})
			require.NoError(t, err)
			_, err = c.CreateInvitation(ctx, &api.InvitationCreate{})
			require.NoError(t, err, "roles apply on the next request")
			_, err = c.GetMe(ctx)
			requireStatus(t, err, 403) // still no account of a person
		})
		t.Run("ErrEscalationThroughRoles", func(t *testing.T) {
			// A manager of service accounts who holds little.
			weak := env.Member(bu.tenantA, env.Role(bu.tenantA, authz.ServiceAccountManage, authz.ConversationRead))
			_, err := weak.Client.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "mine", RoleIds: []uuid.UUID{authz.RoleAdminID}})
			requireStatus(t, err, 403)
			_, err = weak.Client.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "mine", RoleIds: []uuid.UUID{authz.RoleMemberID}})
			requireStatus(t, err, 403)
			_, err = weak.Client.SetServiceAccountRoles(ctx, &api.ServiceAccountRoles{RoleIds: []uuid.UUID{}},
				api.SetServiceAccountRolesParams{ServiceAccountId: sa.ID})
			requireStatus(t, err, 403) // it holds more than the caller
			k := newSAKey(t, "RS256")
			_, err = weak.Client.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
			requireStatus(t, err, 403) // its key would let the caller act as it
			// What the caller holds, it may give.
			mine, err := weak.Client.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "mine",
				RoleIds: []uuid.UUID{env.Role(bu.tenantA, authz.ConversationRead)}})
			require.NoError(t, err)
			require.Equal(t, []string{authz.ConversationRead}, mine.Permissions)
			_, err = weak.Client.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
				api.AddServiceAccountKeyParams{ServiceAccountId: mine.ID})
			require.NoError(t, err)
			// An admin without the explicit grant cannot be asked for it by the weak one.
			_, err = weak.Client.SetServiceAccountRoles(ctx, &api.ServiceAccountRoles{RoleIds: []uuid.UUID{authz.RoleViewerID},
				Administration: api.NewOptBool(true)}, api.SetServiceAccountRolesParams{ServiceAccountId: mine.ID})
			requireStatus(t, err, 403)
			// Members have no service_account.manage at all.
			m := env.Member(bu.tenantA, authz.RoleMemberID)
			_, err = m.Client.ListServiceAccounts(ctx, api.ListServiceAccountsParams{})
			requireStatus(t, err, 403)
		})
		t.Run("ErrBadKey", func(t *testing.T) {
			rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
			require.NoError(t, err)
			privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(rsaKey))}))
			small, err := rsa.GenerateKey(rand.Reader, 1024)
			require.NoError(t, err)
			smallPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&small.PublicKey))}))
			for _, in := range []string{"not a key", privPEM, smallPEM} {
				_, err := admin.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: in},
					api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
				requireStatus(t, err, 400)
			}
			_, err = admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "x", RoleIds: []uuid.UUID{uuid.New()}})
			requireStatus(t, err, 400)
			_, err = admin.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "billing-sync"})
			requireStatus(t, err, 409)
		})
		t.Run("Delete", func(t *testing.T) {
			res, err := exchange(keys["EdDSA"].sign(t, sa.ID, aud, env.Now(), nil))
			require.NoError(t, err)
			require.NoError(t, admin.DeleteServiceAccount(ctx, api.DeleteServiceAccountParams{ServiceAccountId: sa.ID}))
			_, err = env.Client(res.AccessToken).ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 401)
			_, err = exchange(keys["EdDSA"].sign(t, sa.ID, aud, env.Now(), nil))
			requireOAuth(t, err, "invalid_grant")
			ev, err := admin.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("service_account.deleted")})
			require.NoError(t, err)
			require.Len(t, ev.Items, 1)
		})
	})
}

// The grant and client assertion types of RFC 7523.
const (
	grantJWTBearer      = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// tokenRefusal is an OAuth error answer of the token endpoint.
type tokenRefusal struct {
	status    int
	body      api.ServiceAccountTokenError
	challenge string
}

func (r *tokenRefusal) Error() string {
	return fmt.Sprintf("%d %s: %s", r.status, r.body.Error, r.body.ErrorDescription.Or(""))
}

// saToken calls the token endpoint with the generated client; an OAuth
// refusal comes back as a *tokenRefusal, a problem as *api.ErrorStatusCode.
func saToken(ctx context.Context, c *api.Client, req *api.ServiceAccountTokenRequest) (*api.ServiceAccountTokenResponse, error) {
	res, err := c.ServiceAccountToken(ctx, req)
	if err != nil {
		return nil, err
	}
	switch r := res.(type) {
	case *api.ServiceAccountTokenResponseHeaders:
		return &r.Response, nil
	case *api.ServiceAccountTokenErrorHeaders:
		return nil, &tokenRefusal{status: 400, body: r.Response}
	case *api.ServiceAccountTokenUnauthorizedHeaders:
		return nil, &tokenRefusal{status: 401, body: r.Response, challenge: r.WWWAuthenticate}
	}
	return nil, fmt.Errorf("unexpected answer %T", res)
}

// requireOAuth asserts an OAuth refusal with code: 400, or 401 with a
// challenge for invalid_client, whose body is also a problem of the API.
func requireOAuth(t *testing.T, err error, code string, msgAndArgs ...any) *tokenRefusal {
	t.Helper()
	var r *tokenRefusal
	require.ErrorAs(t, err, &r, msgAndArgs...)
	require.Equal(t, code, string(r.body.Error), msgAndArgs...)
	status := 400
	if code == "invalid_client" {
		status = 401
		require.Contains(t, r.challenge, `error="invalid_client"`, msgAndArgs...)
	}
	require.Equal(t, status, r.status, msgAndArgs...)
	require.Equal(t, status, r.body.Status, msgAndArgs...)
	require.Equal(t, "https://atrium.dev/problems/oauth-"+strings.ReplaceAll(code, "_", "-"), r.body.Type, msgAndArgs...)
	require.NotEmpty(t, r.body.ErrorDescription.Or(""), msgAndArgs...)
	require.Equal(t, r.body.ErrorDescription, r.body.Detail, msgAndArgs...)
	require.NotEmpty(t, r.body.RequestID.Or(""), "it carries the request id like every problem")
	return r
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
