package token

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"atrium/ent"
	_ "atrium/ent/runtime"
	"atrium/internal/viewer"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testBundle is what most tests need: one database, a ring and a service.
type testBundle struct {
	client *ent.Client
	store  *EntStore
	kek    []byte
	clock  *fakeClock
	opts   Options
	ring   *KeyRing
	svc    *Service
}

// MustClient opens a fresh SQLite database with the schema created.
func MustClient(tb testing.TB) *ent.Client {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "t.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	require.NoError(tb, err)
	client := ent.NewClient(ent.Driver(entsql.OpenDB("sqlite3", db)))
	tb.Cleanup(func() { client.Close() })
	// ent's schema.Create mutates package-level table definitions, so two
	// at once race; internal/testkit's migrated templates will replace this.
	schemaMu.Lock()
	defer schemaMu.Unlock()
	require.NoError(tb, client.Schema.Create(viewer.System(context.Background(), viewer.ReasonTest)))
	return client
}

var schemaMu sync.Mutex

// MustKEK returns a random key-encryption key.
func MustKEK(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, KEKSize)
	_, err := rand.Read(k)
	require.NoError(tb, err)
	return k
}

func testOptions(clock *fakeClock) Options {
	return Options{Issuer: "https://atrium.test", Audience: "atrium"}.WithClock(clock.Now)
}

// setup returns a bundle with an active key. edit may change the options.
func setup(tb testing.TB, edit ...func(*Options)) *testBundle {
	tb.Helper()
	b := &testBundle{client: MustClient(tb), kek: MustKEK(tb), clock: newFakeClock()}
	b.store = NewEntStore(b.client)
	b.opts = testOptions(b.clock)
	for _, e := range edit {
		e(&b.opts)
	}
	b.ring, b.svc = b.newInstance(tb, b.kek)
	require.NoError(tb, b.ring.EnsureActive(context.Background()))
	return b
}

// newInstance is another process on the same database (not yet loaded).
func (b *testBundle) newInstance(tb testing.TB, kek []byte) (*KeyRing, *Service) {
	tb.Helper()
	ring, err := NewKeyRing(b.store, kek, b.opts)
	require.NoError(tb, err)
	svc, err := New(ring, b.opts)
	require.NoError(tb, err)
	tb.Cleanup(svc.Close)
	return ring, svc
}

func (b *testBundle) claims() Claims {
	return Claims{Subject: uuid.New(), TenantID: uuid.New(), SessionID: uuid.New(), AMR: []string{"hwk", "user"}}
}

// MustIssue issues a token for fresh claims.
func (b *testBundle) MustIssue(tb testing.TB) (string, Claims) {
	tb.Helper()
	c := b.claims()
	tok, err := b.svc.Issue(context.Background(), c)
	require.NoError(tb, err)
	return tok, c
}

// payload is the standard payload of a hand-made token, valid at b's clock.
func (b *testBundle) payload() map[string]any {
	now := b.clock.Now().Unix()
	return map[string]any{
		"iss": b.opts.Issuer, "aud": b.opts.Audience,
		"sub": uuid.NewString(), "tid": uuid.NewString(), "sid": uuid.NewString(),
		"jti": uuid.NewString(), "iat": now, "nbf": now, "exp": now + 600,
		"amr": []string{"hwk"},
	}
}

// handMade builds a compact JWS with any header and payload, signed by sign.
func handMade(tb testing.TB, header, payload map[string]any, sign func(signingInput string) []byte) string {
	tb.Helper()
	h, err := json.Marshal(header)
	require.NoError(tb, err)
	p, err := json.Marshal(payload)
	require.NoError(tb, err)
	in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return in + "." + b64.EncodeToString(sign(in))
}

// signWith returns a signer using a real algorithm and private key.
func signWith(tb testing.TB, m jwt.SigningMethod, key crypto.Signer) func(string) []byte {
	return func(in string) []byte {
		sig, err := m.Sign(in, key)
		require.NoError(tb, err)
		return sig
	}
}

// hmacWith signs with HMAC-SHA256 under secret.
func hmacWith(secret []byte) func(string) []byte {
	return func(in string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
}

// Ns sets the clock to t.
func (c *fakeClock) Ns(t time.Time) { c.ns.Store(t.UnixNano()) }

func serve(h http.Handler, method, ifNoneMatch string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
