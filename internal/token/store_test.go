package token_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	_ "atrium/ent/runtime"
	"atrium/internal/testkit"
	"atrium/internal/token"
)

func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

func kek(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, token.KEKSize)
	_, err := rand.Read(k)
	require.NoError(tb, err)
	return k
}

func opts(edit ...func(*token.Options)) token.Options {
	o := token.Options{Issuer: "https://atrium.test", Audience: "atrium", Algorithm: token.ES256}
	for _, e := range edit {
		e(&o)
	}
	return o
}

// eachDB runs f on a fresh database of every available kind.
func eachDB(t *testing.T, f func(t *testing.T, db testkit.NamedDB)) {
	t.Helper()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			f(t, db)
		})
	}
}

// TestEntStore runs the ring on every available database with the real
// migrations: SQLite always, PostgreSQL when one can be had.
func TestEntStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, db testkit.NamedDB)
	}{
		{"OKRoundTrip", func(t *testing.T, db testkit.NamedDB) {
			ctx := context.Background()
			k := kek(t)
			ring, err := token.NewKeyRing(token.NewEntStore(db.Client), k, opts(func(o *token.Options) { o.Algorithm = token.RS256 }))
			require.NoError(t, err)
			require.NoError(t, ring.EnsureActive(ctx))
			svc, err := token.New(ring, opts())
			require.NoError(t, err)
			t.Cleanup(svc.Close)
			tok, err := svc.Issue(ctx, token.Claims{Subject: uuid.New(), TenantID: uuid.New(), SessionID: uuid.New()})
			require.NoError(t, err)
			c, err := svc.Verify(ctx, tok)
			require.NoError(t, err)
			require.Equal(t, ring.ActiveKid(), c.KeyID)

			// At rest the private key is ciphertext: no PKCS#8 structure,
			// not even the RSA algorithm identifier, is visible.
			var enc, pub []byte
			row := db.DB.QueryRowContext(ctx, "SELECT private_key_enc, public_key FROM signing_keys")
			require.NoError(t, row.Scan(&enc, &pub))
			rsaOID := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}
			require.False(t, bytes.Contains(enc, rsaOID))
			require.True(t, bytes.Contains(pub, rsaOID), "the public key is stored plain")
			_, err = x509.ParsePKCS8PrivateKey(enc)
			require.Error(t, err)

			// Another KEK cannot load the keys, and says so.
			other, err := token.NewKeyRing(token.NewEntStore(db.Client), kek(t), opts())
			require.NoError(t, err)
			err = other.Reload(ctx)
			require.ErrorIs(t, err, token.ErrWrongKEK)
			require.ErrorContains(t, err, "key-encryption key")
			require.Equal(t, "", other.ActiveKid())
		}},
		{"ErrKeyExists", func(t *testing.T, db testkit.NamedDB) {
			ctx := context.Background()
			store := token.NewEntStore(db.Client)
			ring, err := token.NewKeyRing(store, kek(t), opts())
			require.NoError(t, err)
			require.NoError(t, ring.EnsureActive(ctx))
			keys, err := store.List(ctx)
			require.NoError(t, err)
			require.Len(t, keys, 1)
			require.ErrorIs(t, store.Create(ctx, keys[0]), token.ErrKeyExists)
		}},
		{"ErrConflict", func(t *testing.T, db testkit.NamedDB) {
			ctx := context.Background()
			store := token.NewEntStore(db.Client)
			ring, err := token.NewKeyRing(store, kek(t), opts())
			require.NoError(t, err)
			_, err = ring.Rotate(ctx) // active + next
			require.NoError(t, err)
			keys, err := store.List(ctx)
			require.NoError(t, err)
			require.Len(t, keys, 2)
			active, next := keys[0].Kid, keys[1].Kid
			now := time.Now()
			require.NoError(t, store.Promote(ctx, next, []string{active}, now, now.Add(time.Hour)))
			require.ErrorIs(t, store.Promote(ctx, next, []string{active}, now, now.Add(time.Hour)), token.ErrConflict)
			require.ErrorIs(t, store.Promote(ctx, active, nil, now, now), token.ErrConflict, "a retired key is never promoted")
		}},
		{"OKConcurrentStartAndRotate", func(t *testing.T, db testkit.NamedDB) {
			ctx := context.Background()
			k := kek(t)
			const n = 4
			rings := make([]*token.KeyRing, n)
			for i := range rings {
				var err error
				rings[i], err = token.NewKeyRing(token.NewEntStore(db.Client), k, opts(func(o *token.Options) { o.PublishDelay = -1 }))
				require.NoError(t, err)
			}
			var wg sync.WaitGroup
			for _, r := range rings {
				wg.Go(func() { require.NoError(t, r.EnsureActive(ctx)) })
			}
			wg.Wait()
			_, err := rings[0].Rotate(ctx)
			require.NoError(t, err)
			for _, r := range rings {
				wg.Go(func() {
					_, err := r.Rotate(ctx)
					if err != nil && !errors.Is(err, token.ErrConflict) {
						t.Errorf("rotate: %v", err)
					}
				})
			}
			wg.Wait()
			for _, r := range rings {
				require.NoError(t, r.Reload(ctx))
				require.NotEmpty(t, r.ActiveKid())
				require.Equal(t, rings[0].ActiveKid(), r.ActiveKid(), "every instance signs with the same key")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachDB(t, tc.run)
		})
	}
}
