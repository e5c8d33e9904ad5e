package serviceaccount_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	_ "atrium/ent/runtime"
	"atrium/ent/serviceaccountkey"
	"atrium/internal/app"
	"atrium/internal/authz"
	"atrium/internal/config"
	"atrium/internal/fault"
	"atrium/internal/ratelimit"
	"atrium/internal/serviceaccount"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// instances builds n Atrium instances on one PostgreSQL database and one
// Redis, as app.go wires them.
func instances(t *testing.T, n int) []*app.App {
	t.Helper()
	db := testkit.Postgres(t)
	url := testkit.RedisURL(t)
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	out := make([]*app.App, n)
	for i := range out {
		cfg, err := config.Load(func(string) string { return "" })
		require.NoError(t, err)
		cfg.DataDir, cfg.RedisURL, cfg.RateLimit = t.TempDir(), url, ratelimit.Config{}
		a, err := app.Build(context.Background(), cfg, db, kek, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		t.Cleanup(a.Close)
		out[i] = a
	}
	return out
}

// heard returns a channel that receives every service-account invalidation
// instance a hears. Its own cache subscribed first (at start), so when the
// channel receives, that cache has already dropped the account.
func heard(a *app.App) <-chan struct{} {
	ch := make(chan struct{}, 16)
	a.Bus.Subscribe("serviceaccount.changed", func(string) { ch <- struct{}{} })
	return ch
}

func wait(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second): // bounds the wait; no duration is asserted
		t.Fatal("the invalidation never reached the other instance")
	}
}

type signer struct {
	key *ecdsa.PrivateKey
	kid string
}

func (s signer) assertion(t *testing.T, id uuid.UUID, aud string, jti string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{Issuer: id.String(), Subject: id.String(),
		Audience: jwt.ClaimStrings{aud}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: jti})
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	require.NoError(t, err)
	return out
}

func refusedFor(t *testing.T, err error, reason string) {
	t.Helper()
	var r *serviceaccount.Refusal
	require.ErrorAs(t, err, &r)
	require.Equal(t, reason, r.Reason)
}

// TestCacheAcrossInstances: instance B serves the token exchange and the
// bearer check from its cache, and a change made on instance A (revoking a
// key, disabling the account) is refused by B on its next request once the
// bus told it; a change B has not heard of yet (made behind the cache's
// back) is still refused, by the write that issues the token; and a jti is
// accepted once across instances (never cached).
func TestCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	as := instances(t, 2)
	a, b := as[0], as[1]
	ctx := context.Background()
	sys := viewer.System(ctx, viewer.ReasonTest)
	id := uuid.Must(uuid.NewV7())
	tn, err := a.DB.Client.Tenant.Create().SetName("Svc").SetSlug("svc-" + id.String()[:8]).Save(sys)
	require.NoError(t, err)
	op := viewer.SystemForTenant(ctx, tn.ID, viewer.ReasonTest)
	sa, err := a.ServiceAccounts.Create(op, serviceaccount.CreateInput{Name: "sync", RoleIDs: []uuid.UUID{authz.RoleMemberID}})
	require.NoError(t, err)
	aud := a.ServiceAccounts.TokenEndpoint()
	require.Equal(t, aud, b.ServiceAccounts.TokenEndpoint())
	newKey := func() (signer, uuid.UUID) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		require.NoError(t, err)
		reg, err := a.ServiceAccounts.AddKey(op, sa.ID, serviceaccount.KeyInput{PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
		require.NoError(t, err)
		return signer{k, reg.Kid}, reg.ID
	}
	hearB := heard(b)

	k1, k1ID := newKey()
	wait(t, hearB) // B heard of the new key (it had nothing cached yet)
	_, err = b.ServiceAccounts.Token(ctx, k1.assertion(t, sa.ID, aud, uuid.NewString()), "")
	require.NoError(t, err)
	_, err = b.ServiceAccounts.Permissions(ctx, tn.ID, sa.ID)
	require.NoError(t, err)

	t.Run("ReplayAcrossInstances", func(t *testing.T) {
		jti := uuid.NewString()
		_, err := a.ServiceAccounts.Token(ctx, k1.assertion(t, sa.ID, aud, jti), "")
		require.NoError(t, err)
		_, err = b.ServiceAccounts.Token(ctx, k1.assertion(t, sa.ID, aud, jti), "")
		refusedFor(t, err, "replay")
	})
	t.Run("NewKeyAcrossInstances", func(t *testing.T) {
		k2, _ := newKey()
		wait(t, hearB)
		_, err := b.ServiceAccounts.Token(ctx, k2.assertion(t, sa.ID, aud, uuid.NewString()), "")
		require.NoError(t, err, "B's cached account learned of the key added on A")
	})
	t.Run("ErrRevokedOnOtherInstance", func(t *testing.T) {
		require.NoError(t, a.ServiceAccounts.RevokeKey(op, sa.ID, k1ID))
		wait(t, hearB)
		_, err := b.ServiceAccounts.Token(ctx, k1.assertion(t, sa.ID, aud, uuid.NewString()), "")
		refusedFor(t, err, "key_revoked")
	})
	t.Run("ErrRevokedBehindTheCache", func(t *testing.T) {
		k3, k3ID := newKey()
		wait(t, hearB)
		_, err := b.ServiceAccounts.Token(ctx, k3.assertion(t, sa.ID, aud, uuid.NewString()), "")
		require.NoError(t, err) // B caches it as active
		// Revoked in the database with no message: B's cache is stale.
		require.NoError(t, a.DB.Client.ServiceAccountKey.Update().Where(serviceaccountkey.ID(k3ID)).
			SetRevokedAt(time.Now()).Exec(op))
		_, err = b.ServiceAccounts.Token(ctx, k3.assertion(t, sa.ID, aud, uuid.NewString()), "")
		refusedFor(t, err, "key_revoked") // the issuing write saw it
	})
	t.Run("ErrDisabledOnOtherInstance", func(t *testing.T) {
		k4, _ := newKey()
		wait(t, hearB)
		disabled := true
		_, err := a.ServiceAccounts.Update(op, sa.ID, serviceaccount.UpdateInput{Disabled: &disabled})
		require.NoError(t, err)
		wait(t, hearB)
		_, err = b.ServiceAccounts.Permissions(ctx, tn.ID, sa.ID)
		require.Equal(t, fault.Unauthenticated, fault.CodeOf(err), "its tokens stop on B's next request")
		_, err = b.ServiceAccounts.Token(ctx, k4.assertion(t, sa.ID, aud, uuid.NewString()), "")
		refusedFor(t, err, "disabled")

		enabled := false
		_, err = a.ServiceAccounts.Update(op, sa.ID, serviceaccount.UpdateInput{Disabled: &enabled})
		require.NoError(t, err)
		wait(t, hearB)
		_, err = b.ServiceAccounts.Token(ctx, k4.assertion(t, sa.ID, aud, uuid.NewString()), "")
		require.NoError(t, err)
		// Disabled behind B's cache, with no message: B's bearer check
		// still answers from its cache (it is the bus that makes changes
		// reach it), but the write that issues a token refuses.
		_, err = b.ServiceAccounts.Permissions(ctx, tn.ID, sa.ID)
		require.NoError(t, err)
		require.NoError(t, a.DB.Client.ServiceAccount.UpdateOneID(sa.ID).SetDisabledAt(time.Now()).Exec(op))
		_, err = b.ServiceAccounts.Permissions(ctx, tn.ID, sa.ID)
		require.NoError(t, err, "served from B's cache")
		_, err = b.ServiceAccounts.Token(ctx, k4.assertion(t, sa.ID, aud, uuid.NewString()), "")
		refusedFor(t, err, "disabled")
		_, err = b.ServiceAccounts.Permissions(ctx, tn.ID, sa.ID)
		require.Equal(t, fault.Unauthenticated, fault.CodeOf(err), "the refusal dropped B's stale copy")
	})
	t.Run("ErrDeletedOnOtherInstance", func(t *testing.T) {
		require.NoError(t, a.ServiceAccounts.Delete(op, sa.ID))
		wait(t, hearB)
		_, err := b.ServiceAccounts.Permissions(ctx, tn.ID, sa.ID)
		require.Equal(t, fault.Unauthenticated, fault.CodeOf(err))
		var r *serviceaccount.Refusal
		_, err = b.ServiceAccounts.Token(ctx, k1.assertion(t, sa.ID, aud, uuid.NewString()), "")
		require.True(t, errors.As(err, &r))
		require.Equal(t, "unknown_service_account", r.Reason)
	})
}
