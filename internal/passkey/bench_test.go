package passkey_test

import (
	"sync"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/stretchr/testify/require"

	"atrium/internal/authz"
	"atrium/internal/passkey"
	"atrium/internal/testkit"
)

// benchLogin measures a whole sign-in on the service: options, the software
// authenticator's assertion (client-side, ~30 µs of P-256 signing), and finish
// (assertion verify, counter update, session + refresh token, access token).
func benchLogin(b *testing.B, bu *bundle) {
	d := newDevice()
	_, err := bu.enroll(bu.anon, d, bu.invite(authz.RoleMemberID), bu.rp)
	require.NoError(b, err)
	svc := bu.env.App.Passkeys
	var mu sync.Mutex // the authenticator's counter is shared state
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o, err := svc.LoginOptions(bu.ctx)
			if err != nil {
				b.Error(err)
				return
			}
			ao, err := virtualwebauthn.ParseAssertionOptions(string(o.PublicKey))
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			d.cred.Counter++
			resp := virtualwebauthn.CreateAssertionResponse(bu.rp, d.auth, d.cred, *ao)
			mu.Unlock()
			if _, err := svc.Login(bu.ctx, passkey.LoginInput{CeremonyID: o.CeremonyID, Credential: []byte(resp)}); err != nil {
				// A later counter can overtake an earlier one between
				// signing and verifying; that refusal is correct behaviour.
				continue
			}
		}
	})
}

func BenchmarkLoginSQLite(b *testing.B) {
	benchLogin(b, setupB(b, testkit.SQLite(b)))
}

func BenchmarkLoginPostgres(b *testing.B) {
	benchLogin(b, setupB(b, testkit.Postgres(b)))
}

// BenchmarkRefresh measures refresh-token rotation (lookup, spend, mint,
// access token).
func BenchmarkRefresh(b *testing.B) {
	bu := setupB(b, testkit.Postgres(b))
	d := newDevice()
	reg, err := bu.enroll(bu.anon, d, bu.invite(authz.RoleMemberID), bu.rp)
	require.NoError(b, err)
	raw := reg.Token.Value.RefreshToken
	accounts := bu.env.App.Accounts
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tok, err := accounts.Refresh(bu.ctx, raw)
		if err != nil {
			b.Fatal(err)
		}
		raw = tok.Refresh
	}
}
