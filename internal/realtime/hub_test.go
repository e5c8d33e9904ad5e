package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/cache"
	"atrium/internal/realtime"
)

// fakeClock is a realtime.Clock moved on by Advance; due timers run in
// their own goroutines, as time.AfterFunc's do.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) realtime.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock on by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

// fakeAuth knows tokens by name; a revoked token stops authenticating.
type fakeAuth struct {
	mu      sync.Mutex
	tokens  map[string]realtime.Principal
	revoked map[string]bool
	down    bool // every check is undecidable (a dependency is down)
	// undecided counts the checks answered while down.
	undecided atomic.Int64
	// calls counts every check (a database query in Atrium on a miss).
	calls atomic.Int64
}

type principalKey struct{}

func (a *fakeAuth) Authenticate(ctx context.Context, token string) (context.Context, realtime.Principal, error) {
	a.calls.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		a.undecided.Add(1)
		return nil, realtime.Principal{}, fmt.Errorf("%w: database down", realtime.ErrUnavailable)
	}
	p, ok := a.tokens[token]
	if !ok || a.revoked[token] {
		return nil, realtime.Principal{}, errors.New("bad token")
	}
	return context.WithValue(ctx, principalKey{}, p), p, nil
}

func (a *fakeAuth) setDown(down bool) {
	a.mu.Lock()
	a.down = down
	a.mu.Unlock()
}

func (a *fakeAuth) revoke(token string) {
	a.mu.Lock()
	a.revoked[token] = true
	a.mu.Unlock()
}

// fakeAuthz lets a user read the conversations granted to it.
type fakeAuthz struct {
	mu     sync.Mutex
	grants map[uuid.UUID]map[uuid.UUID]bool // user -> conversation
	calls  atomic.Int64
}

func (z *fakeAuthz) CanRead(ctx context.Context, conv uuid.UUID) error {
	z.calls.Add(1)
	p := ctx.Value(principalKey{}).(realtime.Principal)
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.grants[p.UserID][conv] {
		return errors.New("not found")
	}
	return nil
}

func (z *fakeAuthz) set(user, conv uuid.UUID, ok bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.grants[user] == nil {
		z.grants[user] = map[uuid.UUID]bool{}
	}
	z.grants[user][conv] = ok
}

type user struct {
	token string
	p     realtime.Principal
}

type testBundle struct {
	auth  *fakeAuth
	authz *fakeAuthz
	bus   *cache.LocalBus
	clock *fakeClock
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	return &testBundle{
		auth:  &fakeAuth{tokens: map[string]realtime.Principal{}, revoked: map[string]bool{}},
		authz: &fakeAuthz{grants: map[uuid.UUID]map[uuid.UUID]bool{}},
		bus:   cache.NewLocalBus(),
		clock: newFakeClock(),
	}
}

// checks is how many checks (Authenticate and CanRead) were made.
func (b *testBundle) checks() int64 { return b.auth.calls.Load() + b.authz.calls.Load() }

func (b *testBundle) user(tenant uuid.UUID) user {
	u := user{token: uuid.NewString(), p: realtime.Principal{UserID: uuid.New(), TenantID: tenant, SessionID: uuid.New()}}
	b.auth.mu.Lock()
	b.auth.tokens[u.token] = u.p
	b.auth.mu.Unlock()
	return u
}

// server starts a hub on the bundle's bus and clock.
func (b *testBundle) server(t *testing.T, opts ...realtime.Option) (*realtime.Hub, *httptest.Server) {
	t.Helper()
	h := realtime.NewHub(b.auth, b.authz, b.bus, nil, append([]realtime.Option{realtime.WithClock(b.clock)}, opts...)...)
	return h, httptestServer(t, h)
}

func httptestServer(tb testing.TB, h *realtime.Hub) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h.Handler())
	tb.Cleanup(func() { require.NoError(tb, h.Close(context.Background())); srv.Close() })
	return srv
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// mustDial connects with the token in the subprotocol header.
func mustDial(tb testing.TB, srv *httptest.Server, token string) *websocket.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(srv), &websocket.DialOptions{
		Subprotocols: []string{realtime.Subprotocol, "bearer." + token},
	})
	require.NoError(tb, err)
	require.Equal(tb, realtime.Subprotocol, resp.Header.Get("Sec-WebSocket-Protocol"))
	c.SetReadLimit(1 << 20)
	tb.Cleanup(func() { c.CloseNow() })
	return c
}

func send(tb testing.TB, c *websocket.Conn, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(tb, c.Write(ctx, websocket.MessageText, b))
}

// read waits for one event. A timeout closes c (coder/websocket closes a
// connection whose read context expires), so a timed-out c is done.
func read(tb testing.TB, c *websocket.Conn, within time.Duration) (realtime.Event, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return realtime.Event{}, err
	}
	var e realtime.Event
	require.NoError(tb, json.Unmarshal(b, &e))
	return e, nil
}

// awaitConnections waits until the hub has registered n connections: the
// dial returns once the handshake is done, which can be before.
func awaitConnections(tb testing.TB, h *realtime.Hub, n int) {
	tb.Helper()
	require.Eventually(tb, func() bool { got, _ := h.Stats(); return got == n }, 5*time.Second, time.Millisecond)
}

// readAdvancing reads from c until it fails (the connection ends), moving
// the clock by step at a time meanwhile: the hub may arm the timer that
// ends it only after its last frame reached the client.
func (b *testBundle) readAdvancing(tb testing.TB, c *websocket.Conn, step time.Duration) error {
	tb.Helper()
	done := make(chan error, 1)
	go func() { _, err := read(tb, c, 10*time.Second); done <- err }()
	var err error
	require.Eventually(tb, func() bool {
		b.clock.Advance(step)
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	}, 5*time.Second, 5*time.Millisecond)
	return err
}

func mustRead(tb testing.TB, c *websocket.Conn) realtime.Event {
	tb.Helper()
	e, err := read(tb, c, 2*time.Second)
	require.NoError(tb, err)
	return e
}

func mustSubscribe(tb testing.TB, c *websocket.Conn, conv uuid.UUID) {
	tb.Helper()
	send(tb, c, map[string]string{"type": "subscribe", "conversation_id": conv.String()})
	e := mustRead(tb, c)
	require.Equal(tb, realtime.TypeSubscribed, e.Type)
	require.Equal(tb, conv, e.ConversationID)
}

func created(tenant, conv uuid.UUID, text string) realtime.Event {
	d, _ := json.Marshal(map[string]string{"text": text})
	return realtime.Event{Type: realtime.TypeMessageCreated, TenantID: tenant, ConversationID: conv, Data: d}
}

func TestSubscribe(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		tenant, conv := uuid.New(), uuid.New()
		u := b.user(tenant)
		b.authz.set(u.p.UserID, conv, true)

		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)
		conns, subs := h.Stats()
		require.Equal(t, 1, conns)
		require.Equal(t, 1, subs)

		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "hello")))
		e := mustRead(t, c)
		require.Equal(t, realtime.TypeMessageCreated, e.Type)
		require.Equal(t, tenant, e.TenantID)
		require.JSONEq(t, `{"text":"hello"}`, string(e.Data))

		send(t, c, map[string]string{"type": "ping"})
		require.Equal(t, realtime.TypePong, mustRead(t, c).Type)

		send(t, c, map[string]string{"type": "unsubscribe", "conversation_id": conv.String()})
		require.Equal(t, realtime.TypeUnsubscribed, mustRead(t, c).Type)
		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "after")))
		_, err := read(t, c, 200*time.Millisecond)
		require.Error(t, err, "no event after unsubscribe")
	})

	t.Run("AuthMessage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		tenant, conv := uuid.New(), uuid.New()
		u := b.user(tenant)
		b.authz.set(u.p.UserID, conv, true)

		c, _, err := websocket.Dial(t.Context(), wsURL(srv), &websocket.DialOptions{Subprotocols: []string{realtime.Subprotocol}})
		require.NoError(t, err)
		defer c.CloseNow()
		send(t, c, map[string]string{"type": "auth", "token": u.token})
		mustSubscribe(t, c, conv)
		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "hi")))
		require.Equal(t, realtime.TypeMessageCreated, mustRead(t, c).Type)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		tenant, conv := uuid.New(), uuid.New()
		u := b.user(tenant)

		c := mustDial(t, srv, u.token)
		send(t, c, map[string]string{"type": "subscribe", "conversation_id": conv.String()})
		e := mustRead(t, c)
		require.Equal(t, realtime.TypeError, e.Type)
		require.JSONEq(t, `{"code":"not_found","message":"conversation not found"}`, string(e.Data))
		_, subs := h.Stats()
		require.Zero(t, subs)

		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "secret")))
		_, err := read(t, c, 200*time.Millisecond)
		require.Error(t, err, "nothing delivered without a subscription")
	})

	t.Run("ErrCrossTenant", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		tenantA, tenantB, conv := uuid.New(), uuid.New(), uuid.New()
		a, other := b.user(tenantA), b.user(tenantB)
		b.authz.set(a.p.UserID, conv, true)
		// Even a (buggy) authorizer that lets B subscribe to the same ID
		// must not leak tenant A's events to B.
		b.authz.set(other.p.UserID, conv, true)

		ca := mustDial(t, srv, a.token)
		cb := mustDial(t, srv, other.token)
		mustSubscribe(t, ca, conv)
		mustSubscribe(t, cb, conv)
		_, subs := h.Stats()
		require.Equal(t, 2, subs)

		require.NoError(t, h.Publish(t.Context(), created(tenantA, conv, "for A")))
		require.JSONEq(t, `{"text":"for A"}`, string(mustRead(t, ca).Data))
		_, err := read(t, cb, 300*time.Millisecond)
		require.Error(t, err, "tenant B received tenant A's event")
	})

	t.Run("ErrLimit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, srv := b.server(t, realtime.WithMaxSubscriptions(1))
		u := b.user(uuid.New())
		c1, c2 := uuid.New(), uuid.New()
		b.authz.set(u.p.UserID, c1, true)
		b.authz.set(u.p.UserID, c2, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, c1)
		send(t, c, map[string]string{"type": "subscribe", "conversation_id": c2.String()})
		e := mustRead(t, c)
		require.Equal(t, realtime.TypeError, e.Type)
		require.Contains(t, string(e.Data), "too_many_subscriptions")
	})
}

func TestHandshake(t *testing.T) {
	t.Parallel()

	t.Run("ErrTokenInURL", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, srv := b.server(t)
		u := b.user(uuid.New())
		for _, q := range []string{"token", "access_token"} {
			_, resp, err := websocket.Dial(t.Context(), wsURL(srv)+"?"+q+"="+u.token, &websocket.DialOptions{
				Subprotocols: []string{realtime.Subprotocol, "bearer." + u.token},
			})
			require.Error(t, err)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
		}
	})

	t.Run("ErrBadHeaderToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, srv := b.server(t)
		_, resp, err := websocket.Dial(t.Context(), wsURL(srv), &websocket.DialOptions{
			Subprotocols: []string{realtime.Subprotocol, "bearer.nope"},
		})
		require.Error(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})

	t.Run("ErrBadAuthMessage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, srv := b.server(t)
		c, _, err := websocket.Dial(t.Context(), wsURL(srv), nil)
		require.NoError(t, err)
		defer c.CloseNow()
		send(t, c, map[string]string{"type": "auth", "token": "nope"})
		_, err = read(t, c, 2*time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(err))
	})

	t.Run("ErrAuthTimeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t, realtime.WithAuthTimeout(5*time.Second))
		c, _, err := websocket.Dial(t.Context(), wsURL(srv), nil)
		require.NoError(t, err)
		defer c.CloseNow()
		// The timer is armed once the server has accepted: move the clock
		// until it fires.
		rerr := b.readAdvancing(t, c, 5*time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(rerr))
		n, _ := h.Stats()
		require.Zero(t, n)
	})

	t.Run("ErrOrigin", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, srv := b.server(t, realtime.WithOrigins("https://atrium.example"))
		u := b.user(uuid.New())
		dial := func(origin string) (*http.Response, error) {
			c, resp, err := websocket.Dial(t.Context(), wsURL(srv), &websocket.DialOptions{
				Subprotocols: []string{realtime.Subprotocol, "bearer." + u.token},
				HTTPHeader:   http.Header{"Origin": {origin}},
			})
			if c != nil {
				c.CloseNow()
			}
			return resp, err
		}
		resp, err := dial("https://evil.example")
		require.Error(t, err)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, err = dial("http://atrium.example")
		require.Error(t, err)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		_, err = dial("https://atrium.example")
		require.NoError(t, err)
	})
}

// settle waits until the hub has no recheck left to do: every check it
// started has returned. It compares check counts, not time.
func (b *testBundle) settle(t *testing.T) {
	t.Helper()
	last := int64(-1)
	require.Eventually(t, func() bool {
		n := b.checks()
		ok := n == last
		last = n
		return ok
	}, 5*time.Second, 20*time.Millisecond)
}

// expectChecks waits until exactly want checks were made, and no more come.
func (b *testBundle) expectChecks(t *testing.T, want int64, msg string) {
	t.Helper()
	require.Eventually(t, func() bool { return b.checks() >= want }, 5*time.Second, 5*time.Millisecond, msg)
	b.settle(t)
	require.Equal(t, want, b.checks(), msg)
}

// TestRevocation: revocations are pushed to the hub (Hub.Recheck, called by
// the caches after they dropped the changed answer) and take effect at
// once, without waiting for any timer; connections that nothing changed
// make no check at all while idle.
func TestRevocation(t *testing.T) {
	t.Parallel()

	t.Run("Share", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		tenant, conv, other := uuid.New(), uuid.New(), uuid.New()
		u, bystander := b.user(tenant), b.user(tenant)
		b.authz.set(u.p.UserID, conv, true)
		b.authz.set(u.p.UserID, other, true)
		b.authz.set(bystander.p.UserID, other, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)
		mustSubscribe(t, c, other)
		cb := mustDial(t, srv, bystander.token)
		mustSubscribe(t, cb, other)

		b.authz.set(u.p.UserID, conv, false)
		before := b.checks()
		h.Recheck(realtime.Change{Tenant: tenant, Conversation: conv})
		e := mustRead(t, c)
		require.Equal(t, realtime.TypeUnsubscribed, e.Type)
		require.Equal(t, conv, e.ConversationID)
		require.JSONEq(t, `{"reason":"revoked"}`, string(e.Data))
		b.expectChecks(t, before+1, "only the changed subscription is rechecked")

		conns, subs := h.Stats()
		require.Equal(t, 2, conns, "the connection stays open")
		require.Equal(t, 2, subs)
		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "after")))
		send(t, c, map[string]string{"type": "ping"})
		require.Equal(t, realtime.TypePong, mustRead(t, c).Type, "only the pong, not the event")
	})

	t.Run("Session", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		conv := uuid.New()
		u := b.user(uuid.New())
		other := b.user(u.p.TenantID)
		b.authz.set(u.p.UserID, conv, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)
		co := mustDial(t, srv, other.token)

		b.auth.revoke(u.token)
		h.Recheck(realtime.Change{Session: u.p.SessionID})
		_, err := read(t, c, 2*time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(err), "not closed: %v", err)
		require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 1 }, 2*time.Second, 5*time.Millisecond)
		send(t, co, map[string]string{"type": "ping"})
		require.Equal(t, realtime.TypePong, mustRead(t, co).Type, "another session's connection stays")
	})

	t.Run("User", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		tenant, conv := uuid.New(), uuid.New()
		u := b.user(tenant)
		b.authz.set(u.p.UserID, conv, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)

		// A permission change (member lost message.read, or was removed
		// from the team the conversation is shared with).
		b.authz.set(u.p.UserID, conv, false)
		h.Recheck(realtime.Change{Tenant: tenant, User: u.p.UserID})
		e := mustRead(t, c)
		require.Equal(t, realtime.TypeUnsubscribed, e.Type)

		// Member removed: authentication fails, the connection closes.
		b.auth.revoke(u.token)
		h.Recheck(realtime.Change{Tenant: tenant, User: u.p.UserID})
		_, err := read(t, c, 2*time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(err), "%v", err)
	})

	t.Run("ErrOtherTenantUntouched", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		conv := uuid.New()
		u := b.user(uuid.New())
		b.authz.set(u.p.UserID, conv, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)
		b.settle(t)
		before := b.checks()
		h.Recheck(realtime.Change{Tenant: uuid.New(), Conversation: conv})
		h.Recheck(realtime.Change{Tenant: uuid.New(), User: u.p.UserID})
		h.Recheck(realtime.Change{Tenant: uuid.New()})
		h.Recheck(realtime.Change{Session: uuid.New()})
		send(t, c, map[string]string{"type": "ping"})
		require.Equal(t, realtime.TypePong, mustRead(t, c).Type)
		b.settle(t)
		require.Equal(t, before, b.checks(), "a change elsewhere rechecked this connection")
	})

	t.Run("IdleMakesNoChecks", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, srv := b.server(t, realtime.WithRecheck(45*time.Second))
		tenant := uuid.New()
		var cs []*websocket.Conn
		for range 20 {
			u := b.user(tenant)
			conv := uuid.New()
			b.authz.set(u.p.UserID, conv, true)
			c := mustDial(t, srv, u.token)
			mustSubscribe(t, c, conv)
			cs = append(cs, c)
		}
		b.settle(t)
		before := b.checks()
		// Up to the shortest safety wait (⅔ of 45 s): nothing is checked.
		for range 29 {
			b.clock.Advance(time.Second)
		}
		for _, c := range cs {
			send(t, c, map[string]string{"type": "ping"})
			require.Equal(t, realtime.TypePong, mustRead(t, c).Type)
		}
		b.settle(t)
		require.Equal(t, before, b.checks(), "idle connections made checks")

		// By the longest (4⁄3 of 45 s) every connection has been checked once.
		b.clock.Advance(31 * time.Second)
		b.expectChecks(t, before+2*20, "one Authenticate and one CanRead per connection")
	})

	t.Run("SafetyRecheck", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t, realtime.WithRecheck(30*time.Second))
		conv := uuid.New()
		u := b.user(uuid.New())
		b.authz.set(u.p.UserID, conv, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)

		// A revocation nobody announced (a lost message) is caught by the
		// safety recheck, at the latest 4⁄3 of the interval later.
		b.auth.revoke(u.token)
		b.clock.Advance(40 * time.Second)
		_, err := read(t, c, 2*time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(err), "%v", err)
		require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 0 }, 2*time.Second, 5*time.Millisecond)
	})

	t.Run("TokenExpiry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t, realtime.WithRecheck(time.Hour))
		u := b.user(uuid.New())
		u.p.ExpiresAt = b.clock.Now().Add(10 * time.Minute)
		b.auth.mu.Lock()
		b.auth.tokens[u.token] = u.p
		b.auth.mu.Unlock()
		c := mustDial(t, srv, u.token)
		b.settle(t)
		before := b.checks()

		b.clock.Advance(10*time.Minute - time.Second)
		send(t, c, map[string]string{"type": "ping"})
		require.Equal(t, realtime.TypePong, mustRead(t, c).Type, "closed before the token expired")
		b.clock.Advance(time.Second)
		_, err := read(t, c, 2*time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(err), "%v", err)
		require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 0 }, 2*time.Second, 5*time.Millisecond)
		require.Equal(t, before, b.checks(), "expiry needs no check")
	})
}

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h, srv := b.server(t, realtime.WithQueueSize(8))
	tenant, conv := uuid.New(), uuid.New()
	slowU, fastU := b.user(tenant), b.user(tenant)
	b.authz.set(slowU.p.UserID, conv, true)
	b.authz.set(fastU.p.UserID, conv, true)
	slow := mustDial(t, srv, slowU.token)
	fast := mustDial(t, srv, fastU.token)
	mustSubscribe(t, slow, conv)
	mustSubscribe(t, fast, conv)

	// The fast client reads everything; the slow one reads nothing, so its
	// socket buffers and then its queue fill up.
	const n = 400
	big := strings.Repeat("x", 64<<10)
	var got atomic.Int64
	done := make(chan error, 1)
	go func() {
		for got.Load() < n {
			if _, err := read(t, fast, 5*time.Second); err != nil {
				done <- err
				return
			}
			got.Add(1)
		}
		done <- nil
	}()
	for i := range n {
		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, big)))
		// Publish no faster than the fast client reads: it must keep up,
		// whatever the slow one does. A Publish blocked behind the slow
		// client would stall the fast one, which this wait reports.
		for deadline := time.Now().Add(5 * time.Second); got.Load() < int64(i-4); {
			require.True(t, time.Now().Before(deadline), "fast client stalled at %d", got.Load())
			time.Sleep(100 * time.Microsecond)
		}
	}
	require.NoError(t, <-done)
	require.Equal(t, int64(n), got.Load())
	require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 1 }, 2*time.Second, 10*time.Millisecond,
		"slow consumer still connected")
}

func TestCrossInstance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hubA, _ := b.server(t)
	_, srvB := b.server(t)
	tenant, conv := uuid.New(), uuid.New()
	u := b.user(tenant)
	b.authz.set(u.p.UserID, conv, true)

	c := mustDial(t, srvB, u.token)
	mustSubscribe(t, c, conv)
	require.NoError(t, hubA.Publish(t.Context(), created(tenant, conv, "from A")))
	e := mustRead(t, c)
	require.Equal(t, realtime.TypeMessageCreated, e.Type)
	require.JSONEq(t, `{"text":"from A"}`, string(e.Data))
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h, srv := b.server(t, realtime.WithPingInterval(30*time.Second), realtime.WithPingTimeout(10*time.Second))
	u := b.user(uuid.New())
	live := mustDial(t, srv, u.token)
	// live reads, so its client answers pings.
	go func() {
		for {
			if _, _, err := live.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	c := mustDial(t, srv, u.token)
	_ = c // not reading: pongs are never sent, so the server gives up
	// The ping and then its timeout are armed as the clock moves: move it
	// until the silent connection is gone.
	require.Eventually(t, func() bool {
		b.clock.Advance(10 * time.Second)
		n, _ := h.Stats()
		return n == 1
	}, 5*time.Second, 10*time.Millisecond)
}

// TestClose: Close says "going away" to every connection and returns once
// their goroutines have ended, or when its context ends first.
func TestClose(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		u := b.user(uuid.New())
		c := mustDial(t, srv, u.token)
		require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 1 }, time.Second, 5*time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- h.Close(context.Background()) }()
		_, err := read(t, c, 2*time.Second)
		require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err))
		require.NoError(t, <-closed)
		_, _, err = websocket.Dial(t.Context(), wsURL(srv), nil)
		require.Error(t, err, "a closed hub refuses new connections")
	})
	t.Run("ErrContextDone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t)
		u := b.user(uuid.New())
		c := mustDial(t, srv, u.token)
		require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 1 }, time.Second, 5*time.Millisecond)
		// The peer does not read, so it never answers the close frame: the
		// connection cannot finish closing before the context ends.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, h.Close(ctx), context.Canceled)
		_, err := read(t, c, 2*time.Second)
		require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err))
	})
}

// TestRecheckUnavailable: when a recheck cannot be decided, the connection
// stays open with its events paused (fail closed, no reconnect storm), says
// so, is retried every degraded-recheck interval and resumes once checks
// work again; past the grace it is closed with 1013 (try again later). A
// revocation made meanwhile takes effect on the first decided recheck.
func TestRecheckUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("OK/PausedThenResumed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t, realtime.WithRecheckGrace(time.Minute))
		tenant, conv := uuid.New(), uuid.New()
		u := b.user(tenant)
		b.authz.set(u.p.UserID, conv, true)
		c := mustDial(t, srv, u.token)
		mustSubscribe(t, c, conv)

		b.auth.setDown(true)
		h.Recheck(realtime.Change{})
		e := mustRead(t, c)
		require.Equal(t, realtime.TypeError, e.Type)
		require.Contains(t, string(e.Data), `"unavailable"`)
		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "while paused")))
		// Several rechecks, still undecided: wait for them, not for time.
		seen := b.auth.undecided.Load()
		require.Eventually(t, func() bool {
			b.clock.Advance(time.Second) // the degraded-recheck interval
			return b.auth.undecided.Load() >= seen+3
		}, 5*time.Second, 5*time.Millisecond, "the connection stopped rechecking while paused")

		b.auth.setDown(false)
		b.clock.Advance(time.Second)
		require.Equal(t, realtime.TypeResumed, mustRead(t, c).Type, "the paused event was not delivered")
		require.NoError(t, h.Publish(t.Context(), created(tenant, conv, "after")))
		e = mustRead(t, c)
		require.Equal(t, realtime.TypeMessageCreated, e.Type)
		require.Contains(t, string(e.Data), "after")
	})
	t.Run("ErrGraceExceeded", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t, realtime.WithRecheckGrace(10*time.Second))
		u := b.user(uuid.New())
		c := mustDial(t, srv, u.token)
		awaitConnections(t, h, 1) // a recheck only reaches registered connections
		b.auth.setDown(true)
		h.Recheck(realtime.Change{})
		require.Equal(t, realtime.TypeError, mustRead(t, c).Type)
		err := b.readAdvancing(t, c, time.Second)
		require.Equal(t, websocket.StatusTryAgainLater, websocket.CloseStatus(err), "%v", err)
		require.Eventually(t, func() bool { n, _ := h.Stats(); return n == 0 }, time.Second, 10*time.Millisecond)
	})
	t.Run("ErrRevokedAfterOutage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h, srv := b.server(t, realtime.WithRecheckGrace(time.Minute))
		u := b.user(uuid.New())
		c := mustDial(t, srv, u.token)
		awaitConnections(t, h, 1) // a recheck only reaches registered connections
		b.auth.setDown(true)
		h.Recheck(realtime.Change{})
		require.Equal(t, realtime.TypeError, mustRead(t, c).Type)
		b.auth.revoke(u.token)
		b.auth.setDown(false)
		// The retry: the clock moves until the connection ends.
		err := b.readAdvancing(t, c, time.Second)
		require.Equal(t, realtime.StatusUnauthenticated, websocket.CloseStatus(err), "%v", err)
	})
}
