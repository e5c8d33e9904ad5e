package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestIssueVerify(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{RS256, ES256, EdDSA} {
		t.Run("OK"+alg, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(o *Options) { o.Algorithm = alg })
			ctx := context.Background()
			tok, want := b.MustIssue(t)

			got, err := b.svc.Verify(ctx, tok)
			require.NoError(t, err)
			now := b.clock.Now().Truncate(time.Second)
			require.Equal(t, want.Subject, got.Subject)
			require.Equal(t, want.TenantID, got.TenantID)
			require.Equal(t, want.SessionID, got.SessionID)
			require.Equal(t, want.AMR, got.AMR)
			require.Equal(t, b.opts.Issuer, got.Issuer)
			require.Equal(t, b.opts.Audience, got.Audience)
			require.NotEmpty(t, got.ID)
			require.Equal(t, b.ring.ActiveKid(), got.KeyID)
			require.True(t, now.Equal(got.IssuedAt))
			require.True(t, now.Equal(got.NotBefore))
			require.True(t, now.Add(DefaultTTL).Equal(got.ExpiresAt))

			header, _, _ := strings.Cut(tok, ".")
			raw, err := b64.DecodeString(header)
			require.NoError(t, err)
			require.JSONEq(t, `{"alg":"`+alg+`","kid":"`+b.ring.ActiveKid()+`","typ":"JWT"}`, string(raw))

			again, err := b.svc.Verify(ctx, tok)
			require.NoError(t, err)
			require.Same(t, got, again, "second verification comes from the cache")
		})
	}
	t.Run("ServiceAccount", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.claims()
		c.SessionID, c.ClientID = uuid.Nil, c.Subject
		tok, err := b.svc.Issue(context.Background(), c)
		require.NoError(t, err)
		got, err := b.svc.Verify(context.Background(), tok)
		require.NoError(t, err)
		require.Equal(t, c.Subject, got.ClientID)
		require.Equal(t, uuid.Nil, got.SessionID)

		c.SessionID = uuid.Must(uuid.NewV7())
		_, err = b.svc.Issue(context.Background(), c)
		require.Error(t, err, "a session and a client id: refused")
		c.SessionID, c.ClientID = uuid.Nil, uuid.Must(uuid.NewV7())
		_, err = b.svc.Issue(context.Background(), c)
		require.Error(t, err, "a client id other than the subject: refused")
	})
	t.Run("ShorterExpiry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.claims()
		c.ExpiresAt = b.clock.Now().Add(time.Minute)
		tok, err := b.svc.Issue(context.Background(), c)
		require.NoError(t, err)
		got, err := b.svc.Verify(context.Background(), tok)
		require.NoError(t, err)
		require.Equal(t, c.ExpiresAt.Unix(), got.ExpiresAt.Unix())
	})
	t.Run("ErrMissingClaims", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.claims()
		c.TenantID = [16]byte{}
		_, err := b.svc.Issue(context.Background(), c)
		require.Error(t, err)
	})
	t.Run("ErrNoSigningKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, svc := b.newInstance(t, b.kek) // not loaded
		_, err := svc.Issue(context.Background(), b.claims())
		require.ErrorIs(t, err, ErrNoSigningKey)
	})
}

// TestVerifyRejects is the attack list: every token here must fail, with the
// specific error, an error matching ErrInvalid, and nothing of the token in
// the message.
func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	active := b.ring.signer()
	kid := active.kid
	rs256 := signWith(t, jwt.SigningMethodRS256, active.signer)
	hdr := func() map[string]any { return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"} }
	with := func(edit func(h, p map[string]any)) string {
		h, p := hdr(), b.payload()
		edit(h, p)
		return handMade(t, h, p, rs256)
	}
	now := b.clock.Now().Unix()

	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(active.public)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	valid, _ := b.MustIssue(t)
	parts := strings.Split(valid, ".")
	var claims map[string]any
	raw, err := b64.DecodeString(parts[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &claims))
	claims["sub"] = "0190d7a0-0000-7000-8000-000000000001"
	forged, err := json.Marshal(claims)
	require.NoError(t, err)

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"ErrExpired", with(func(h, p map[string]any) { p["iat"], p["nbf"], p["exp"] = now-700, now-700, now-100 }), ErrExpired},
		{"ErrNotYetValid", with(func(h, p map[string]any) { p["nbf"] = now + 300 }), ErrNotYetValid},
		{"ErrIssuedInFuture", with(func(h, p map[string]any) { p["iat"], p["nbf"], p["exp"] = now+300, now, now+600 }), ErrNotYetValid},
		{"ErrWrongIssuer", with(func(h, p map[string]any) { p["iss"] = "https://evil.test" }), ErrIssuer},
		{"ErrMissingIssuer", with(func(h, p map[string]any) { delete(p, "iss") }), ErrClaims},
		{"ErrWrongAudience", with(func(h, p map[string]any) { p["aud"] = "other" }), ErrAudience},
		{"ErrWrongAudienceList", with(func(h, p map[string]any) { p["aud"] = []string{"other", "more"} }), ErrAudience},
		{"ErrMissingExp", with(func(h, p map[string]any) { delete(p, "exp") }), ErrClaims},
		{"ErrMissingNbf", with(func(h, p map[string]any) { delete(p, "nbf") }), ErrClaims},
		{"ErrMissingTenant", with(func(h, p map[string]any) { delete(p, "tid") }), ErrClaims},
		{"ErrBadSubject", with(func(h, p map[string]any) { p["sub"] = "admin" }), ErrClaims},
		{"ErrNilSession", with(func(h, p map[string]any) { p["sid"] = "00000000-0000-0000-0000-000000000000" }), ErrClaims},
		{"ErrMissingJTI", with(func(h, p map[string]any) { delete(p, "jti") }), ErrClaims},
		{"ErrClientIDAndSession", with(func(h, p map[string]any) { p["client_id"] = p["sub"] }), ErrClaims},
		{"ErrClientIDNotSubject", with(func(h, p map[string]any) { delete(p, "sid"); p["client_id"] = "0190d7a0-0000-7000-8000-000000000001" }), ErrClaims},
		{"ErrNoSessionNoClient", with(func(h, p map[string]any) { delete(p, "sid") }), ErrClaims},
		{"ErrLifetimeTooLong", with(func(h, p map[string]any) { p["exp"] = now + 86400 }), ErrClaims},
		{"ErrUnknownKid", with(func(h, p map[string]any) { h["kid"] = "no-such-key" }), ErrUnknownKey},
		{"ErrMissingKid", with(func(h, p map[string]any) { delete(h, "kid") }), ErrUnknownKey},
		{"ErrCritHeader", with(func(h, p map[string]any) { h["crit"] = []string{"exp"} }), ErrMalformed},
		{"ErrAlgNone", handMade(t, map[string]any{"alg": "none", "kid": kid}, b.payload(), func(string) []byte { return nil }), ErrAlgorithm},
		{"ErrAlgNoneUpper", handMade(t, map[string]any{"alg": "None", "kid": kid}, b.payload(), func(string) []byte { return nil }), ErrAlgorithm},
		{"ErrAlgMissing", handMade(t, map[string]any{"kid": kid}, b.payload(), rs256), ErrAlgorithm},
		{"ErrHS256WithPublicKeyDER", handMade(t, map[string]any{"alg": "HS256", "kid": kid}, b.payload(), hmacWith(pubDER)), ErrAlgorithm},
		{"ErrHS256WithPublicKeyPEM", handMade(t, map[string]any{"alg": "HS256", "kid": kid}, b.payload(), hmacWith(pubPEM)), ErrAlgorithm},
		{"ErrOtherRSAAlg", handMade(t, map[string]any{"alg": "RS512", "kid": kid}, b.payload(), signWith(t, jwt.SigningMethodRS512, active.signer)), ErrAlgorithm},
		{"ErrPS256SameKey", handMade(t, map[string]any{"alg": "PS256", "kid": kid}, b.payload(), signWith(t, jwt.SigningMethodPS256, active.signer)), ErrAlgorithm},
		{"ErrES256UnderRSAKid", handMade(t, map[string]any{"alg": "ES256", "kid": kid}, b.payload(), signWith(t, jwt.SigningMethodES256, ecKey)), ErrAlgorithm},
		{"ErrTamperedPayload", parts[0] + "." + b64.EncodeToString(forged) + "." + parts[2], ErrSignature},
		{"ErrTamperedSignature", parts[0] + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 256)), ErrSignature},
		{"ErrForeignKeyClaimingOurKid", handMade(t, hdr(), b.payload(), signWith(t, jwt.SigningMethodRS256, foreign)), ErrSignature},
		{"ErrForeignKeyOwnKid", handMade(t, map[string]any{"alg": "RS256", "kid": "foreign"}, b.payload(), signWith(t, jwt.SigningMethodRS256, foreign)), ErrUnknownKey},
		{"ErrNonCanonicalSignature", parts[0] + "." + parts[1] + "." + nonCanonical(parts[2]), ErrMalformed},
		{"ErrMalformedTwoParts", parts[0] + "." + parts[1], ErrMalformed},
		{"ErrMalformedGarbage", "not a token", ErrMalformed},
		{"ErrMalformedEmpty", "", ErrMalformed},
		{"ErrMalformedHuge", strings.Repeat("a", MaxTokenBytes+1), ErrMalformed},
		{"ErrMalformedHeaderJSON", b64.EncodeToString([]byte("{secret")) + "." + parts[1] + "." + parts[2], ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := b.svc.Verify(context.Background(), tc.tok)
			require.Nil(t, got)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, ErrInvalid)
			for _, part := range strings.Split(tc.tok, ".") {
				if len(part) > 3 {
					require.NotContains(t, err.Error(), part)
				}
			}
			require.NotContains(t, err.Error(), "secret")
		})
	}
	t.Run("FailuresAreNotCached", func(t *testing.T) {
		t.Parallel()
		tok := with(func(h, p map[string]any) { p["iss"] = "https://evil.test" })
		_, err := b.svc.Verify(context.Background(), tok)
		require.ErrorIs(t, err, ErrIssuer)
		_, ok := b.svc.cache.GetIfPresent(sha256.Sum256([]byte(tok)))
		require.False(t, ok)
	})
	t.Run("OKWithinLeeway", func(t *testing.T) {
		t.Parallel()
		tok := with(func(h, p map[string]any) { p["iat"], p["nbf"], p["exp"] = now-600, now-600, now-20 })
		_, err := b.svc.Verify(context.Background(), tok)
		require.NoError(t, err)
		_, ok := b.svc.cache.GetIfPresent(sha256.Sum256([]byte(tok)))
		require.False(t, ok, "a token past its exp is never cached")
	})
}

func TestRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	first := b.ring.ActiveKid()
	oldTok, _ := b.MustIssue(t)

	// Phase one: a next key is published but does not sign.
	res, err := b.ring.Rotate(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Activated)
	next := res.Created
	require.NotEqual(t, first, next)
	require.Equal(t, first, b.ring.ActiveKid())
	require.ElementsMatch(t, []string{first, next}, jwksKids(t, b.ring.JWKS()))
	tok, _ := b.MustIssue(t)
	require.Equal(t, first, mustVerify(t, b.svc, tok).KeyID)

	// Promoting before the key was published long enough is refused.
	_, err = b.ring.Rotate(ctx)
	require.ErrorIs(t, err, ErrRotateTooSoon)
	require.Equal(t, first, b.ring.ActiveKid())

	// Phase two: next signs, the old key is retired but still verifies.
	b.clock.Advance(b.ring.opts.PublishDelay)
	res, err = b.ring.Rotate(ctx)
	require.NoError(t, err)
	require.Equal(t, next, res.Activated)
	require.Equal(t, []string{first}, res.Retired)
	require.Equal(t, b.clock.Now().Add(DefaultTTL+DefaultLeeway+DefaultReloadEvery), res.VerifyUntil)
	require.Equal(t, next, b.ring.ActiveKid())
	require.ElementsMatch(t, []string{first, next, res.Created}, jwksKids(t, b.ring.JWKS()))
	newTok, _ := b.MustIssue(t)
	require.Equal(t, next, mustVerify(t, b.svc, newTok).KeyID)

	// Tokens of the retired key verify until they expire (leeway included)...
	b.clock.Advance(DefaultTTL - b.ring.opts.PublishDelay - time.Second)
	require.Equal(t, first, mustVerify(t, b.svc, oldTok).KeyID)
	// ...and the key stays accepted until verify_until, then disappears.
	b.clock.Ns(res.VerifyUntil)
	fresh := handMade(t, map[string]any{"alg": "RS256", "kid": first}, b.payload(), signWith(t, jwt.SigningMethodRS256, mustSigner(t, b, first)))
	mustVerify(t, b.svc, fresh)
	b.clock.Advance(time.Nanosecond)
	_, err = b.svc.Verify(ctx, fresh)
	require.ErrorIs(t, err, ErrUnknownKey, "retired key past verify_until, even for a cached token")
	require.NotContains(t, jwksKids(t, b.ring.JWKS()), first)

	// Another instance loading now never trusts the expired key.
	ring2, svc2 := b.newInstance(t, b.kek)
	require.NoError(t, ring2.Reload(ctx))
	require.NotContains(t, jwksKids(t, ring2.JWKS()), first)
	_, err = svc2.Verify(ctx, fresh)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestRotateAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ringB, svcB := b.newInstance(t, b.kek)
	require.NoError(t, ringB.Reload(ctx))
	require.Equal(t, b.ring.ActiveKid(), ringB.ActiveKid())

	// B rotates twice (with the publish delay between); A has not reloaded.
	_, err := ringB.Rotate(ctx)
	require.NoError(t, err)
	b.clock.Advance(b.opts.withDefaults().PublishDelay)
	res, err := ringB.Rotate(ctx)
	require.NoError(t, err)
	tok, err := svcB.Issue(ctx, b.claims())
	require.NoError(t, err)

	// A does not know the new kid yet, and reloads once on the miss.
	c, err := b.svc.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, res.Activated, c.KeyID)
	require.Equal(t, res.Activated, b.ring.ActiveKid())

	// A reload dropping a key purges A's cache.
	_, err = b.svc.Verify(ctx, tok)
	require.NoError(t, err)
	require.Positive(t, b.svc.cache.EstimatedSize())
	b.clock.Advance(res.VerifyUntil.Sub(b.clock.Now()) + time.Second)
	require.NoError(t, b.ring.Reload(ctx))
	require.Zero(t, b.svc.cache.EstimatedSize())
}

func TestRotateConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, func(o *Options) { o.PublishDelay = -1 })
	_, err := b.ring.Rotate(ctx)
	require.NoError(t, err)
	stored, err := b.store.List(ctx)
	require.NoError(t, err)
	var next, active string
	for _, k := range stored {
		switch k.Status {
		case StatusNext:
			next = k.Kid
		case StatusActive:
			active = k.Kid
		}
	}
	now := b.clock.Now()
	require.NoError(t, b.store.Promote(ctx, next, []string{active}, now, now.Add(time.Hour)))
	require.ErrorIs(t, b.store.Promote(ctx, next, []string{active}, now, now.Add(time.Hour)), ErrConflict)
}

func TestEnsureActive(t *testing.T) {
	t.Parallel()
	t.Run("Idempotent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		kid := b.ring.ActiveKid()
		require.NoError(t, b.ring.EnsureActive(context.Background()))
		stored, err := b.store.List(context.Background())
		require.NoError(t, err)
		require.Len(t, stored, 1)
		require.Equal(t, kid, stored[0].Kid)
		require.Equal(t, StatusActive, stored[0].Status)
	})
	t.Run("ConcurrentStart", func(t *testing.T) {
		t.Parallel()
		b := &testBundle{client: MustClient(t), kek: MustKEK(t), clock: newFakeClock()}
		b.store, b.opts = NewEntStore(b.client), testOptions(b.clock)
		b.opts.Algorithm = ES256 // fast keys; the race is about the table
		const n = 4
		rings := make([]*KeyRing, n)
		var wg sync.WaitGroup
		for i := range rings {
			rings[i], _ = b.newInstance(t, b.kek)
			wg.Go(func() { require.NoError(t, rings[i].EnsureActive(context.Background())) })
		}
		wg.Wait()
		for _, r := range rings {
			require.NoError(t, r.Reload(context.Background()))
			require.Equal(t, rings[0].ActiveKid(), r.ActiveKid(), "every instance signs with the same key")
		}
	})
}

func TestEncryptionAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	stored, err := b.store.List(ctx)
	require.NoError(t, err)
	require.Len(t, stored, 1)
	der, err := x509.MarshalPKCS8PrivateKey(b.ring.signer().signer)
	require.NoError(t, err)
	enc := stored[0].PrivateKeyEnc
	require.NotContains(t, string(enc), string(der[len(der)-64:]), "no plaintext DER at rest")
	require.NotContains(t, string(enc), string(der[:64]))
	opened, err := Open(b.kek, enc, sealAAD(stored[0].Kid))
	require.NoError(t, err)
	require.Equal(t, der, opened)

	t.Run("ErrWrongKEK", func(t *testing.T) {
		t.Parallel()
		ring, _ := b.newInstance(t, MustKEK(t))
		err := ring.Reload(ctx)
		require.ErrorIs(t, err, ErrWrongKEK)
		require.Contains(t, err.Error(), "key-encryption key")
		require.Contains(t, err.Error(), stored[0].Kid)
		require.Empty(t, ring.ActiveKid())
	})
	t.Run("ErrMovedCiphertext", func(t *testing.T) {
		t.Parallel()
		_, err := Open(b.kek, enc, sealAAD("another-kid"))
		require.ErrorIs(t, err, ErrWrongKEK)
	})
}

func TestJWKSHandler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.ring.Rotate(context.Background())
	require.NoError(t, err)
	h := b.ring.Handler()

	rec := serve(h, "GET", "")
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "public, max-age=300", rec.Header().Get("Cache-Control"))
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, b.ring.JWKS(), rec.Body.Bytes())
	var set struct{ Keys []map[string]string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &set))
	require.Len(t, set.Keys, 2)
	for _, k := range set.Keys {
		require.Equal(t, "RSA", k["kty"])
		require.Equal(t, "RS256", k["alg"])
		require.Equal(t, "sig", k["use"])
		require.Equal(t, "AQAB", k["e"])
		require.Len(t, k["n"], 342)
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			require.NotContains(t, k, private)
		}
	}
	require.Equal(t, b.ring.ActiveKid(), set.Keys[0]["kid"], "active key first")

	rec = serve(h, "GET", rec.Header().Get("ETag"))
	require.Equal(t, 304, rec.Code)
	require.Equal(t, 405, serve(h, "POST", "").Code)
}

func TestJWKSOtherAlgorithms(t *testing.T) {
	t.Parallel()
	for alg, want := range map[string]map[string]string{
		ES256: {"kty": "EC", "crv": "P-256"},
		EdDSA: {"kty": "OKP", "crv": "Ed25519"},
	} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(o *Options) { o.Algorithm = alg })
			var set struct{ Keys []map[string]string }
			require.NoError(t, json.Unmarshal(b.ring.JWKS(), &set))
			require.Len(t, set.Keys, 1)
			k := set.Keys[0]
			require.Equal(t, want["kty"], k["kty"])
			require.Equal(t, want["crv"], k["crv"])
			require.Equal(t, alg, k["alg"])
			require.NotContains(t, k, "d")
			require.Equal(t, b.ring.ActiveKid(), k["kid"])
		})
	}
}

// TestAlgorithmChange: switching the algorithm takes effect at rotation and
// tokens of the old algorithm's key keep verifying.
func TestAlgorithmChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, func(o *Options) { o.Algorithm = ES256; o.PublishDelay = -1 })
	oldTok, _ := b.MustIssue(t)
	b.opts.Algorithm = EdDSA
	ring, svc := b.newInstance(t, b.kek)
	_, err := ring.Rotate(ctx)
	require.NoError(t, err)
	_, err = ring.Rotate(ctx)
	require.NoError(t, err)
	tok, err := svc.Issue(ctx, b.claims())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok, b64.EncodeToString([]byte(`{"alg":"EdDSA"`))))
	mustVerify(t, svc, tok)
	mustVerify(t, svc, oldTok)
}

func TestCacheNeverOutlivesExp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tok, _ := b.MustIssue(t)
	c := mustVerify(t, b.svc, tok)
	h := sha256.Sum256([]byte(tok))
	_, ok := b.svc.cache.GetIfPresent(h)
	require.True(t, ok)

	b.clock.Ns(c.ExpiresAt.Add(-time.Nanosecond))
	require.Same(t, c, mustVerify(t, b.svc, tok), "cached until exp")

	// At exp the cached entry is no longer used: only the parser's leeway
	// still admits the token, and nothing is cached again.
	b.clock.Ns(c.ExpiresAt)
	again := mustVerify(t, b.svc, tok)
	require.NotSame(t, c, again)
	_, ok = b.svc.cache.GetIfPresent(h)
	require.False(t, ok)

	b.clock.Advance(DefaultLeeway + time.Second)
	_, err := b.svc.Verify(ctx, tok)
	require.ErrorIs(t, err, ErrExpired)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := NewKeyRing(b.store, b.kek, Options{Audience: "a"})
	require.ErrorContains(t, err, "issuer")
	_, err = NewKeyRing(b.store, b.kek, Options{Issuer: "i", Audience: "a", Algorithm: "HS256"})
	require.ErrorIs(t, err, ErrUnsupportedAlgorithm)
	_, err = NewKeyRing(b.store, b.kek[:16], Options{Issuer: "i", Audience: "a"})
	require.ErrorIs(t, err, ErrKEKSize)
}

func mustVerify(tb testing.TB, s *Service, tok string) *Claims {
	tb.Helper()
	c, err := s.Verify(context.Background(), tok)
	require.NoError(tb, err)
	return c
}

func mustSigner(tb testing.TB, b *testBundle, kid string) *rsa.PrivateKey {
	tb.Helper()
	stored, err := b.store.List(context.Background())
	require.NoError(tb, err)
	for _, k := range stored {
		if k.Kid == kid {
			der, err := Open(b.kek, k.PrivateKeyEnc, sealAAD(kid))
			require.NoError(tb, err)
			key, err := x509.ParsePKCS8PrivateKey(der)
			require.NoError(tb, err)
			return key.(*rsa.PrivateKey)
		}
	}
	tb.Fatalf("no key %s", kid)
	return nil
}

func jwksKids(tb testing.TB, raw []byte) []string {
	tb.Helper()
	var set struct{ Keys []struct{ Kid string } }
	require.NoError(tb, json.Unmarshal(raw, &set))
	kids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ringB, _ := b.newInstance(t, b.kek)
	res, err := ringB.Rotate(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ring.Run(ctx, 5*time.Millisecond) }()
	require.Eventually(t, func() bool {
		return strings.Contains(string(b.ring.JWKS()), res.Created)
	}, 5*time.Second, 5*time.Millisecond, "Run picks up another instance's rotation")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestServiceClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc, err := New(b.ring, b.opts)
	require.NoError(t, err)
	b.ring.mu.Lock()
	n := len(b.ring.listeners)
	b.ring.mu.Unlock()
	svc.Close()
	b.ring.mu.Lock()
	defer b.ring.mu.Unlock()
	require.Len(t, b.ring.listeners, n-1)
	require.NotContains(t, b.ring.listeners, svc)
}

// nonCanonical re-encodes a base64url segment with non-zero padding bits:
// the same bytes under a different string, which strict decoding refuses.
func nonCanonical(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|1])
}
