package faulttest

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/account"
	"atrium/internal/app"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// recoveryBound is how long a test waits for the app to recover after a
// dependency came back. It bounds a polling loop; nothing asserts how fast
// recovery was (docs/reliability.md records what was observed).
const recoveryBound = 30 * time.Second

// client is a generated API client that also remembers the Retry-After of
// the last response, which the generated client does not expose.
type client struct {
	*api.Client
	mu         sync.Mutex
	retryAfter string
}

func (c *client) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.retryAfter = res.Header.Get("Retry-After")
		c.mu.Unlock()
	}
	return res, err
}

// RetryAfter is the Retry-After header of the last response.
func (c *client) RetryAfter() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.retryAfter
}

type bearer string

func (b bearer) BearerAuth(context.Context, api.OperationName) (api.BearerAuth, error) {
	if b == "" {
		return api.BearerAuth{}, ogenerrors.ErrSkipClientSecurity
	}
	return api.BearerAuth{Token: string(b)}, nil
}

func newClient(t *testing.T, env *apptest.Env, tok string) *client {
	t.Helper()
	c := &client{}
	ac, err := api.NewClient(env.Server.URL+"/api/v1", bearer(tok), api.WithClient(&http.Client{Transport: c}))
	require.NoError(t, err)
	c.Client = ac
	return c
}

// statusOf is the HTTP status a call of the generated client ended with.
func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var e *api.ErrorStatusCode
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return -1
}

// requireUnavailable asserts a 503 problem with Retry-After.
func requireUnavailable(t *testing.T, c *client, err error) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, statusOf(err), "want 503, got %v", err)
	require.NotEmpty(t, c.RetryAfter(), "a 503 says when to retry")
}

// refreshToken opens a second session for m and returns its refresh token.
func refreshToken(t *testing.T, env *apptest.Env, m *apptest.Member) string {
	t.Helper()
	ctx := env.System()
	tx, err := env.App.DB.Client.Tx(ctx)
	require.NoError(t, err)
	toks, err := env.App.Accounts.Open(ctx, tx, account.OpenInput{UserID: m.UserID, TenantID: m.TenantID, AMR: []string{"hwk"}})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	return toks.Refresh
}

func refreshReq(tok string) *api.TokenExchangeRequest {
	return &api.TokenExchangeRequest{GrantType: api.TokenExchangeRequestGrantTypeRefreshToken, RefreshToken: api.NewOptString(tok)}
}

// awaitOK polls call until it succeeds, at most recoveryBound, and returns
// how long that took.
func awaitOK(t *testing.T, what string, call func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < recoveryBound {
		if err = call(); err == nil {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for time to pass
	}
	t.Fatalf("%s: no recovery within %s: %v", what, recoveryBound, err)
	return 0
}

// TestPostgresStopped: with PostgreSQL stopped every request that needs it
// answers 503 with Retry-After — reads, writes, token refresh, and GET /me
// with a valid token whose permissions are no longer cached (never 500,
// never 401) — and the same app answers 200 again once it is back.
func TestPostgresStopped(t *testing.T) {
	t.Parallel()
	pg := testkit.NewDedicatedPostgres(t)
	env := apptest.New(t, apptest.OpenPostgres(t, pg.URL(), nil))
	ctx := context.Background()
	ten := env.Tenant()
	m := env.Member(ten.ID, authz.RoleAdminID)
	cold := env.Member(ten.ID, authz.RoleAdminID) // never used before the outage: nothing cached
	warm := env.Member(ten.ID, authz.RoleAdminID) // session and permissions cached: requests reach the services
	refresh := refreshToken(t, env, m)
	c, cc, wc := newClient(t, env, m.Token), newClient(t, env, cold.Token), newClient(t, env, warm.Token)
	anon := newClient(t, env, "")
	conv, err := c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("before")})
	require.NoError(t, err)
	_, err = c.GetMe(ctx) // session and permissions cached
	require.NoError(t, err)
	_, err = wc.GetMe(ctx)
	require.NoError(t, err)
	// A role edit elsewhere cleared this instance's permission cache.
	env.App.Authz.Invalidate(ctx, ten.ID, m.UserID)

	pg.Stop()
	// The subtests share the stopped server, so they run in order.
	t.Run("ErrMeWithValidToken", func(t *testing.T) {
		_, err := c.GetMe(ctx)
		requireUnavailable(t, c, err)
	})
	t.Run("ErrMeUncachedSession", func(t *testing.T) {
		_, err := cc.GetMe(ctx)
		requireUnavailable(t, cc, err)
	})
	t.Run("ErrRead", func(t *testing.T) {
		_, err := wc.GetConversation(ctx, api.GetConversationParams{ConversationId: conv.ID})
		requireUnavailable(t, wc, err)
		_, err = wc.ListConversations(ctx, api.ListConversationsParams{})
		requireUnavailable(t, wc, err)
		_, err = c.ListConversations(ctx, api.ListConversationsParams{}) // the authentication path
		requireUnavailable(t, c, err)
	})
	t.Run("ErrWrite", func(t *testing.T) {
		_, err := wc.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("during")})
		requireUnavailable(t, wc, err)
	})
	t.Run("ErrRefresh", func(t *testing.T) {
		_, err := anon.ExchangeToken(ctx, refreshReq(refresh))
		requireUnavailable(t, anon, err)
	})
	t.Run("ErrReady", func(t *testing.T) {
		_, err := anon.GetReady(ctx)
		requireUnavailable(t, anon, err)
	})

	pg.Start(t)
	took := awaitOK(t, "GET /me", func() error { _, err := c.GetMe(ctx); return err })
	t.Logf("recovered: GET /me answered 200 %s after PostgreSQL accepted connections again", took.Round(time.Millisecond))
	t.Run("OKAfterRestart", func(t *testing.T) {
		_, err := c.GetConversation(ctx, api.GetConversationParams{ConversationId: conv.ID})
		require.NoError(t, err)
		_, err = c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("after")})
		require.NoError(t, err)
		_, err = cc.GetMe(ctx)
		require.NoError(t, err)
		_, err = anon.ExchangeToken(ctx, refreshReq(refresh))
		require.NoError(t, err, "the refresh token was not spent by the failed attempt")
		r, err := anon.GetReady(ctx)
		require.NoError(t, err)
		require.Equal(t, "ok", r.Checks.Value["database"])
	})
}

// TestPostgresTooManyConnections: when the server refuses connections with
// SQLSTATE 53300 (max_connections reached), requests answer 503, and 200
// once connections are free again.
func TestPostgresTooManyConnections(t *testing.T) {
	t.Parallel()
	pg := testkit.NewDedicatedPostgres(t, "max_connections=12")
	// No idle connections kept: every request needs a new one.
	env := apptest.New(t, apptest.OpenPostgres(t, pg.URL(), func(o *app.PoolOptions) { o.MaxIdleConns = 0 }))
	ctx := context.Background()
	m := env.Member(env.Tenant().ID, authz.RoleAdminID)
	c := newClient(t, env, m.Token)
	_, err := c.ListConversations(ctx, api.ListConversationsParams{})
	require.NoError(t, err)

	hog, err := sql.Open("pgx", pg.URL())
	require.NoError(t, err)
	t.Cleanup(func() { hog.Close() })
	var held []*sql.Conn
	for range 50 {
		conn, err := hog.Conn(ctx)
		if err != nil {
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, "53300", pgErr.Code)
			break
		}
		require.NoError(t, conn.PingContext(ctx))
		held = append(held, conn)
	}
	require.Less(t, len(held), 50, "max_connections was never reached")

	t.Run("ErrTooManyConnections", func(t *testing.T) {
		_, err := c.ListConversations(ctx, api.ListConversationsParams{})
		requireUnavailable(t, c, err)
		_, err = c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("full")})
		requireUnavailable(t, c, err)
	})
	for _, conn := range held {
		conn.Close()
	}
	hog.Close()
	took := awaitOK(t, "list conversations", func() error {
		_, err := c.ListConversations(ctx, api.ListConversationsParams{})
		return err
	})
	t.Logf("recovered: 200 %s after the connections were released", took.Round(time.Millisecond))
}

// TestPoolAcquireTimeout: when every connection of the pool is busy, a
// request waits at most ATRIUM_DB_ACQUIRE_TIMEOUT and gets 503 with
// Retry-After, instead of queueing without limit.
func TestPoolAcquireTimeout(t *testing.T) {
	t.Parallel()
	db := apptest.OpenPostgres(t, testkit.MigratedPostgresURL(t), func(o *app.PoolOptions) {
		o.MaxConns, o.AcquireTimeout = 2, 50*time.Millisecond
	})
	env := apptest.New(t, db)
	ctx := context.Background()
	m := env.Member(env.Tenant().ID, authz.RoleAdminID)
	c := newClient(t, env, m.Token)
	_, err := c.ListConversations(ctx, api.ListConversationsParams{}) // session and permissions cached
	require.NoError(t, err)

	// Two long transactions hold the whole pool.
	tx1, err := env.App.DB.Client.Tx(ctx)
	require.NoError(t, err)
	tx2, err := env.App.DB.Client.Tx(ctx)
	require.NoError(t, err)
	t.Run("ErrPoolExhausted", func(t *testing.T) {
		_, err := c.ListConversations(ctx, api.ListConversationsParams{})
		requireUnavailable(t, c, err)
	})
	require.NoError(t, tx1.Rollback())
	require.NoError(t, tx2.Rollback())
	t.Run("OKPoolFree", func(t *testing.T) {
		_, err := c.ListConversations(ctx, api.ListConversationsParams{})
		require.NoError(t, err)
	})
}

// TestRedisKilled: with Redis gone the instance still serves correctly:
// /ready is 200 with "redis":"degraded", reads and writes succeed, logout
// works.
func TestRedisKilled(t *testing.T) {
	t.Parallel()
	redisURL, kill := testkit.DisposableRedis(t)
	env := apptest.New(t, testkit.Postgres(t), apptest.WithRedis(redisURL))
	ctx := context.Background()
	m := env.Member(env.Tenant().ID, authz.RoleAdminID)
	c, anon := newClient(t, env, m.Token), newClient(t, env, "")
	r, err := anon.GetReady(ctx)
	require.NoError(t, err)
	require.Equal(t, "ok", r.Checks.Value["redis"])

	kill()
	awaitDegraded(t, anon)
	t.Run("OKWrite", func(t *testing.T) {
		_, err := c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("no redis")})
		require.NoError(t, err)
		_, err = c.GetMe(ctx)
		require.NoError(t, err)
	})
	t.Run("OKLogout", func(t *testing.T) {
		require.NoError(t, c.Logout(ctx))
		_, err := c.GetMe(ctx)
		require.Equal(t, http.StatusUnauthorized, statusOf(err), "the session ended")
	})
}

// TestRedisBlackholed: Redis that accepts connections and never answers.
// Once the bus knows it is unhealthy, a logout (a revocation) does not wait
// for Redis: it sends it nothing at all.
func TestRedisBlackholed(t *testing.T) {
	t.Parallel()
	redisURL, _ := testkit.DisposableRedis(t)
	u, err := url.Parse(redisURL)
	require.NoError(t, err)
	bh := testkit.NewBlackhole(t, u.Host)
	env := apptest.New(t, testkit.Postgres(t), apptest.WithRedis("redis://"+bh.Addr()+"/0"))
	ctx := context.Background()
	ten := env.Tenant()
	m := env.Member(ten.ID, authz.RoleAdminID)
	c, anon := newClient(t, env, m.Token), newClient(t, env, "")
	_, err = c.GetMe(ctx)
	require.NoError(t, err)

	bh.Freeze()
	awaitDegraded(t, anon)
	t.Run("OKLogoutSendsNothingToRedis", func(t *testing.T) {
		require.NoError(t, c.Logout(ctx))
		env.App.Authz.Invalidate(ctx, ten.ID, uuid.Nil) // a role edit
		require.Zero(t, bh.Swallowed("publish"), "a revocation waited on a Redis known to be down")
		_, err := c.GetMe(ctx)
		require.Equal(t, http.StatusUnauthorized, statusOf(err), "the session ended on this instance at once")
	})
}

// awaitDegraded polls /ready until it reports Redis degraded, with 200.
func awaitDegraded(t *testing.T, anon *client) {
	t.Helper()
	took := awaitOK(t, "ready degraded", func() error {
		r, err := anon.GetReady(context.Background())
		if err != nil {
			return err
		}
		if r.Checks.Value["redis"] != "degraded" {
			return errors.New("redis " + r.Checks.Value["redis"])
		}
		return nil
	})
	t.Logf("/ready said redis degraded %s after Redis went away", took.Round(time.Millisecond))
}

// direct opens a client of the database at url straight to PostgreSQL, as
// the connecting role: the other transaction of a test, outside the app.
func direct(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func renameConversation(ctx context.Context, c *client, id uuid.UUID, title string) (*api.Conversation, error) {
	return c.UpdateConversation(ctx, &api.ConversationUpdate{Title: api.NewOptString(title)},
		api.UpdateConversationParams{ConversationId: id})
}

// lockChainSQL takes the lock internal/audit serializes a chain's appends
// with (its lockSQL), on the key chainKey gives for a tenant's chain.
const lockChainSQL = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7413))"

func chainKey(tenant uuid.UUID) string { return "audit:" + tenant.String() }

// TestDeadlock: a request whose transaction PostgreSQL aborts to break a
// deadlock (SQLSTATE 40P01) answers 503 with Retry-After, not 500: nothing
// of it was committed, and the same request sent again succeeds. The
// deadlock is real: another client holds the tenant's audit chain lock (as
// a concurrent append would) while the request, holding the conversation's
// row lock, waits for it at its commit; the other client then waits for
// that row.
func TestDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := testkit.MigratedPostgresURL(t)
	side := direct(t, u)
	env := apptest.New(t, apptest.OpenPostgres(t, u, nil))
	ten := env.Tenant()
	m := env.Member(ten.ID, authz.RoleAdminID)
	c := newClient(t, env, m.Token)
	conv, err := c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("before")})
	require.NoError(t, err)

	conn, err := side.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A waiting backend looks for a deadlock once, deadlock_timeout after it
	// began to wait. The request's looks after PostgreSQL's default second,
	// by when the side waits too; the side's looks later, so that
	// PostgreSQL aborts the request's transaction (and should the request's
	// look ever come too early, the side's finds the deadlock and the test
	// fails below instead of hanging).
	_, err = conn.ExecContext(ctx, "SET deadlock_timeout = '20s'")
	require.NoError(t, err)
	tx, err := conn.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, lockChainSQL, chainKey(ten.ID))
	require.NoError(t, err)

	rename := func(title string) (*api.Conversation, error) { return renameConversation(ctx, c, conv.ID, title) }
	done := make(chan error, 1)
	go func() {
		_, err := rename("during")
		done <- err
	}()
	// Once the request waits for the chain's lock, it holds the row's.
	waiting := func() error {
		var n int
		err := side.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&n)
		if err == nil && n == 0 {
			err = errors.New("no backend waits for the chain's lock yet")
		}
		return err
	}
	awaitOK(t, "the request waits for the chain's lock", waiting)
	_, err = tx.ExecContext(ctx, "UPDATE conversations SET title = 'side' WHERE id = $1", conv.ID)
	require.NoError(t, err, "PostgreSQL aborted the request's transaction, not this one")

	t.Run("ErrDeadlock", func(t *testing.T) {
		requireUnavailable(t, c, <-done)
	})
	require.NoError(t, tx.Rollback())
	t.Run("OKRetried", func(t *testing.T) {
		got, err := c.GetConversation(ctx, api.GetConversationParams{ConversationId: conv.ID})
		require.NoError(t, err)
		require.Equal(t, "before", got.Title, "nothing of the aborted request was committed")
		got, err = rename("after")
		require.NoError(t, err)
		require.Equal(t, "after", got.Title)
	})
}

// TestLockTimeout: a request that waits for a lock another transaction
// holds (a stuck instance's, an operator's) waits at most
// ATRIUM_DB_LOCK_TIMEOUT, then answers 503 with Retry-After and frees its
// connection, instead of waiting as long as that transaction lives. The
// lock is the conversation's row (a rename) or the tenant's audit chain
// (every audited change, here a message). Reads do not wait for either.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := testkit.MigratedPostgresURL(t)
	env := apptest.New(t, apptest.OpenPostgres(t, u, func(o *app.PoolOptions) { o.LockTimeout = 100 * time.Millisecond }))
	ten := env.Tenant()
	m := env.Member(ten.ID, authz.RoleAdminID)
	c := newClient(t, env, m.Token)
	conv, err := c.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("before")})
	require.NoError(t, err)
	side := direct(t, u)

	rename := func(title string) error {
		_, err := renameConversation(ctx, c, conv.ID, title)
		return err
	}
	write := func() error {
		_, err := c.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hello"},
			api.AppendMessageParams{ConversationId: conv.ID})
		return err
	}
	messages := func(t *testing.T) int {
		t.Helper()
		p, err := c.ListMessages(ctx, api.ListMessagesParams{ConversationId: conv.ID})
		require.NoError(t, err)
		return len(p.Items)
	}
	holding := func(t *testing.T, lockSQL string, args ...any) *sql.Tx {
		t.Helper()
		tx, err := side.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, lockSQL, args...)
		require.NoError(t, err)
		return tx
	}

	t.Run("ErrRowLocked", func(t *testing.T) {
		tx := holding(t, "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", conv.ID)
		requireUnavailable(t, c, rename("during"))
		got, err := c.GetConversation(ctx, api.GetConversationParams{ConversationId: conv.ID})
		require.NoError(t, err, "a read does not wait for the row's lock")
		require.Equal(t, "before", got.Title)
		require.NoError(t, tx.Rollback())
		require.NoError(t, rename("after"), "the lock released, the same rename succeeds")
	})
	t.Run("ErrChainLocked", func(t *testing.T) {
		before := messages(t)
		tx := holding(t, lockChainSQL, chainKey(ten.ID))
		requireUnavailable(t, c, write())
		require.Equal(t, before, messages(t), "the message was not stored without its audit event")
		require.NoError(t, tx.Rollback())
		require.NoError(t, write())
		require.Equal(t, before+1, messages(t))
	})
}
