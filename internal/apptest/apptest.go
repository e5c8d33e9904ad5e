// Package apptest runs a whole Atrium instance in a test: the real app wiring
// on an isolated, migrated database, served by httptest, with fixtures for
// tenants, members and tokens, and the generated client. Tests only.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/ratelimit"
	"atrium/internal/rls"
	"atrium/internal/session"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

// Env is a running Atrium instance.
type Env struct {
	tb     testing.TB
	Ctx    context.Context
	App    *app.App
	Server *httptest.Server
	offset atomic.Int64 // ns added to time.Now by the app's clock
}

// Now is the app's clock: the real time moved on by Advance.
func (e *Env) Now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

// Advance moves the app's clock (sessions, refresh tokens, ceremonies) on by
// d, so that tests age them without sleeping.
func (e *Env) Advance(d time.Duration) { e.offset.Add(int64(d)) }

// Option changes the configuration before the app is built.
type Option func(*config.Config)

// New starts Atrium on db (see internal/testkit for isolated databases).
func New(tb testing.TB, db *app.Database, opts ...Option) *Env {
	tb.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(tb, err)
	cfg.DataDir = tb.TempDir()
	// Tests sign in far more often than people; the rate-limit tests turn
	// limits back on with WithRateLimits.
	cfg.RateLimit = ratelimit.Config{}
	for _, o := range opts {
		o(cfg)
	}
	kek := cfg.KeyEncryptionKey
	if len(kek) == 0 {
		kek = make([]byte, 32)
		_, _ = rand.Read(kek)
	}
	ctx := context.Background()
	e := &Env{tb: tb, Ctx: ctx}
	if cfg.Clock == nil {
		cfg.Clock = e.Now
	}
	a, err := app.Build(ctx, cfg, db, kek, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(tb, err)
	srv := httptest.NewServer(a.Handler)
	tb.Cleanup(func() {
		srv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(tb, a.Stop(sctx))
	})
	e.App, e.Server = a, srv
	return e
}

// System returns a context acting as the system viewer, for fixtures.
func (e *Env) System() context.Context { return viewer.System(e.Ctx, viewer.ReasonTest) }

// Tenant creates a tenant.
func (e *Env) Tenant() *ent.Tenant {
	e.tb.Helper()
	id := uuid.Must(uuid.NewV7())
	t, err := e.App.DB.Client.Tenant.Create().SetName("Tenant " + id.String()[:8]).SetSlug("t-" + id.String()).Save(e.System())
	require.NoError(e.tb, err)
	return t
}

// Member is a signed-in member of a tenant.
type Member struct {
	UserID, TenantID, SessionID uuid.UUID
	Token                       string
	Client                      *api.Client
}

// Member creates a user who is an active member of tenant with roles, opens a
// session and issues an access token for it.
func (e *Env) Member(tenantID uuid.UUID, roles ...uuid.UUID) *Member {
	e.tb.Helper()
	ctx := e.System()
	c := e.App.DB.Client
	u, err := c.User.Create().SetDisplayName("Test User").Save(ctx)
	require.NoError(e.tb, err)
	tctx := viewer.SystemForTenant(e.Ctx, tenantID, viewer.ReasonTest)
	_, err = c.Membership.Create().SetTenantID(tenantID).SetUserID(u.ID).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
	require.NoError(e.tb, err)
	for _, r := range roles {
		_, err = c.MemberRole.Create().SetTenantID(tenantID).SetUserID(u.ID).SetRoleID(r).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).Save(tctx)
		require.NoError(e.tb, err)
	}
	tx, err := c.Tx(ctx)
	require.NoError(e.tb, err)
	s, err := e.App.Sessions.Create(ctx, tx, session.CreateInput{UserID: u.ID, TenantID: tenantID, AMR: []string{"hwk"}})
	require.NoError(e.tb, err)
	require.NoError(e.tb, tx.Commit())
	m := &Member{UserID: u.ID, TenantID: tenantID, SessionID: s.ID}
	m.Token = e.Issue(token.Claims{Subject: u.ID, TenantID: tenantID, SessionID: s.ID, AMR: []string{"hwk"}})
	m.Client = e.Client(m.Token)
	return m
}

// Issue issues an access token with the app's token service.
func (e *Env) Issue(c token.Claims) string {
	e.tb.Helper()
	tok, err := e.App.Tokens.Issue(e.Ctx, c)
	require.NoError(e.tb, err)
	return tok
}

// Client returns a generated API client sending tok as its bearer token
// ("" sends none).
func (e *Env) Client(tok string) *api.Client {
	e.tb.Helper()
	c, err := api.NewClient(e.Server.URL+"/api/v1", bearer(tok), api.WithClient(e.Server.Client()))
	require.NoError(e.tb, err)
	return c
}

type bearer string

func (b bearer) BearerAuth(context.Context, api.OperationName) (api.BearerAuth, error) {
	if b == "" {
		return api.BearerAuth{}, ogenerrors.ErrSkipClientSecurity // the request goes without a token
	}
	return api.BearerAuth{Token: string(b)}, nil
}

// WithRateLimits sets the rate limits (apptest turns them off by default).
func WithRateLimits(l ratelimit.Config) Option { return func(c *config.Config) { c.RateLimit = l } }

// WithKEK sets the key-encryption key, so that other processes started with
// the same key open the signing keys this Env creates.
func WithKEK(kek []byte) Option { return func(c *config.Config) { c.KeyEncryptionKey = kek } }

// WithRedis makes the instance use Redis (cache bus) at url.
func WithRedis(url string) Option { return func(c *config.Config) { c.RedisURL = url } }

// Role creates a custom role of tenant carrying grants and returns its id.
func (e *Env) Role(tenantID uuid.UUID, grants ...string) uuid.UUID {
	e.tb.Helper()
	tctx := viewer.SystemForTenant(e.Ctx, tenantID, viewer.ReasonTest)
	r, err := e.App.DB.Client.Role.Create().SetTenantID(tenantID).SetName("role " + uuid.NewString()[:13]).
		SetPermissions(grants).Save(tctx)
	require.NoError(e.tb, err)
	return r.ID
}

// Join makes m's user an active member of another tenant with roles, opens
// a session there and returns the member as signed in to that tenant.
func (e *Env) Join(m *Member, tenantID uuid.UUID, roles ...uuid.UUID) *Member {
	e.tb.Helper()
	c := e.App.DB.Client
	tctx := viewer.SystemForTenant(e.Ctx, tenantID, viewer.ReasonTest)
	_, err := c.Membership.Create().SetTenantID(tenantID).SetUserID(m.UserID).SetCreatedBy(m.UserID).SetUpdatedBy(m.UserID).Save(tctx)
	require.NoError(e.tb, err)
	for _, r := range roles {
		_, err = c.MemberRole.Create().SetTenantID(tenantID).SetUserID(m.UserID).SetRoleID(r).SetCreatedBy(m.UserID).SetUpdatedBy(m.UserID).Save(tctx)
		require.NoError(e.tb, err)
	}
	ctx := e.System()
	tx, err := c.Tx(ctx)
	require.NoError(e.tb, err)
	s, err := e.App.Sessions.Create(ctx, tx, session.CreateInput{UserID: m.UserID, TenantID: tenantID, AMR: []string{"hwk"}})
	require.NoError(e.tb, err)
	require.NoError(e.tb, tx.Commit())
	out := &Member{UserID: m.UserID, TenantID: tenantID, SessionID: s.ID}
	out.Token = e.Issue(token.Claims{Subject: m.UserID, TenantID: tenantID, SessionID: s.ID, AMR: []string{"hwk"}})
	out.Client = e.Client(out.Token)
	return out
}

// OpenPostgres opens url the way the app does, with the default pool options
// changed by tune (nil: none), and closes it when the test ends.
func OpenPostgres(tb testing.TB, url string, tune func(*app.PoolOptions)) *app.Database {
	tb.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(tb, err)
	o := app.PoolOptionsFrom(cfg)
	if tune != nil {
		tune(&o)
	}
	sqldb, err := sql.Open(rls.DriverName, url)
	require.NoError(tb, err)
	db, err := app.OpenPostgres(context.Background(), sqldb, o)
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	return db
}
