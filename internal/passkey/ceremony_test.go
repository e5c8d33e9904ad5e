package passkey_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/passkey"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// TestSignInWhileRedisIsDown: with Redis gone, ceremonies are kept in the
// database, so sign-in and enrollment go on; they stay single-use and
// expire. A ceremony begun in Redis cannot be finished until it is back
// (503, documented).
func TestSignInWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	url, stopRedis := testkit.DisposableRedis(t)
	b := setup(t, testkit.Postgres(t), apptest.WithRedis(url))
	ctx := b.ctx
	d := newDevice()
	_, err := b.enroll(b.anon, d, b.invite(authz.RoleMemberID), b.rp)
	require.NoError(t, err)
	begunInRedis, credInRedis := b.assertion(d, b.rp)
	stopRedis()

	t.Run("ErrBegunInRedis", func(t *testing.T) {
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: begunInRedis, Credential: credInRedis})
		requireStatus(t, err, 503)
	})
	t.Run("OK", func(t *testing.T) {
		id, cred := b.assertion(d, b.rp)
		require.True(t, strings.HasPrefix(id, "db."), "kept in the database: %s", id)
		tok, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		require.NoError(t, err)
		_, err = b.env.Client(tok.AccessToken).GetMe(ctx)
		require.NoError(t, err)
	})
	t.Run("ErrReplayed", func(t *testing.T) {
		id, cred := b.assertion(d, b.rp)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		require.NoError(t, err)
		_, err = b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		requireStatus(t, err, 401)
	})
	t.Run("ErrExpired", func(t *testing.T) {
		id, cred := b.assertion(d, b.rp)
		b.env.Advance(passkey.CeremonyTTL + time.Second)
		_, err := b.anon.Login(ctx, &api.LoginRequest{CeremonyID: id, Credential: cred})
		requireStatus(t, err, 401)
	})
	t.Run("OKEnrollment", func(t *testing.T) {
		reg, err := b.enroll(b.anon, newDevice(), b.invite(authz.RoleMemberID), b.rp)
		require.NoError(t, err)
		require.True(t, reg.Token.Set)
	})
}

// TestDBStore: the database ceremony store on its own, on every database.
func TestDBStore(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			client := db.Open(t).Client
			now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
			s := passkey.NewDBStore(client, clock)
			ctx := context.Background()
			rows := func() int {
				n, err := client.Ceremony.Query().Count(viewer.System(ctx, viewer.ReasonTest))
				require.NoError(t, err)
				return n
			}

			t.Run("OK", func(t *testing.T) {
				id, err := s.Put(ctx, []byte("state"), time.Minute)
				require.NoError(t, err)
				got, err := s.Take(ctx, id)
				require.NoError(t, err)
				require.Equal(t, []byte("state"), got)
			})
			t.Run("ErrReplayed", func(t *testing.T) {
				id, err := s.Put(ctx, []byte("state"), time.Minute)
				require.NoError(t, err)
				var wg sync.WaitGroup
				wins := make(chan struct{}, 8)
				for range 8 {
					wg.Go(func() {
						if _, err := s.Take(ctx, id); err == nil {
							wins <- struct{}{}
						} else {
							require.ErrorIs(t, err, passkey.ErrNoCeremony)
						}
					})
				}
				wg.Wait()
				require.Len(t, wins, 1, "one Take wins")
			})
			t.Run("ErrUnknown", func(t *testing.T) {
				_, err := s.Take(ctx, "never-issued")
				require.ErrorIs(t, err, passkey.ErrNoCeremony)
			})
			t.Run("ErrExpired", func(t *testing.T) {
				id, err := s.Put(ctx, []byte("state"), time.Minute)
				require.NoError(t, err)
				advance(time.Minute)
				_, err = s.Take(ctx, id)
				require.ErrorIs(t, err, passkey.ErrNoCeremony)
			})
			t.Run("OKExpiredRowsSwept", func(t *testing.T) {
				for range 150 {
					_, err := s.Put(ctx, []byte("abandoned"), time.Minute)
					require.NoError(t, err)
				}
				require.GreaterOrEqual(t, rows(), 150)
				advance(time.Minute)
				// Each Put removes up to one batch (100) of expired rows.
				_, err := s.Put(ctx, []byte("new"), time.Minute)
				require.NoError(t, err)
				require.LessOrEqual(t, rows(), 51)
				_, err = s.Put(ctx, []byte("new"), time.Minute)
				require.NoError(t, err)
				require.Equal(t, 2, rows(), "only the live ceremonies are left")
			})
		})
	}
}
