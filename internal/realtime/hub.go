// Package realtime is the WebSocket hub behind GET /api/v1/ws: clients
// subscribe to conversations and receive their events (new messages,
// assistant tokens) as JSON text frames. Events travel between instances on
// the cache bus, so a client connected to any instance sees events published
// on any other; each instance delivers only to its own connections whose
// tenant and subscription match. See docs/realtime.md for the protocol.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// Principal is who a connection acts for.
type Principal struct{ UserID, TenantID, SessionID uuid.UUID }

// Authenticator checks an access token. The returned context carries the
// viewer and is what later Authorizer calls receive. An error wrapping
// ErrUnavailable says the check could not be made (a dependency is down),
// not that the token is bad.
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (context.Context, Principal, error)
}

// Authorizer decides whether the viewer in ctx may read a conversation; nil
// means allowed. It is called on subscribe and again on every recheck, so it
// should be cached.
type Authorizer interface {
	CanRead(ctx context.Context, conversationID uuid.UUID) error
}

// Bus broadcasts messages to every instance, including the sender;
// atrium/internal/cache.Bus satisfies it.
type Bus interface {
	Publish(ctx context.Context, topic, msg string) error
	Subscribe(topic string, fn func(msg string))
}

// ErrUnavailable marks an authentication that could not be decided. On a
// recheck it pauses the connection's events instead of closing it, for up
// to the recheck grace (WithRecheckGrace); a connection still unverified
// then is closed with StatusTryAgainLater.
var ErrUnavailable = errors.New("realtime: authentication unavailable")

// Event types sent to clients.
const (
	TypeMessageCreated = "message.created"
	TypeAssistantToken = "assistant.token"
	TypeAssistantDone  = "assistant.done"
	TypeError          = "error"
	TypeSubscribed     = "subscribed"
	TypeUnsubscribed   = "unsubscribed"
	// TypeResumed follows an error event with code "unavailable": events
	// flow again (those published in between were not delivered).
	TypeResumed = "resumed"
	TypePong    = "pong"
)

// Close status codes beyond the standard ones.
const (
	// StatusUnauthenticated closes a connection without a valid token, or
	// whose session was revoked.
	StatusUnauthenticated websocket.StatusCode = 4401
)

// BusTopic is the bus topic that carries events between instances.
const BusTopic = "realtime"

// Subprotocol is the WebSocket subprotocol the server selects.
const Subprotocol = "atrium.v1"

const bearerPrefix = "bearer."

// Event is one server-to-client message. Data is type-specific.
type Event struct {
	Type           string          `json:"type"`
	TenantID       uuid.UUID       `json:"tenant_id,omitzero"`
	ConversationID uuid.UUID       `json:"conversation_id,omitzero"`
	Data           json.RawMessage `json:"data,omitempty"`
}

// Option tunes a Hub.
type Option func(*options)

type options struct {
	pingEvery    time.Duration
	pingTimeout  time.Duration
	recheck      time.Duration
	grace        time.Duration
	authTimeout  time.Duration
	writeTimeout time.Duration
	queue        int
	maxSubs      int
	maxMsg       int64
	origins      []string
}

// WithPingInterval sets how often the server pings each connection
// (default 30 s).
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.pingEvery = d } }

// WithPingTimeout sets how long a ping may go unanswered before the
// connection is closed (default 10 s).
func WithPingTimeout(d time.Duration) Option { return func(o *options) { o.pingTimeout = d } }

// WithRecheck sets how often each connection re-runs Authenticate and, for
// every subscription, CanRead (default 500 ms, so a revocation takes effect
// within 1 s).
func WithRecheck(every time.Duration) Option { return func(o *options) { o.recheck = every } }

// WithRecheckGrace sets how long a connection whose recheck cannot be
// decided (ErrUnavailable) stays open, its events paused, before it is
// closed with StatusTryAgainLater (default 10 s).
func WithRecheckGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithAuthTimeout sets how long a connection without a header token has to
// send its auth message (default 5 s).
func WithAuthTimeout(d time.Duration) Option { return func(o *options) { o.authTimeout = d } }

// WithQueueSize sets how many events may wait for one connection before it
// is closed as a slow consumer (default 64).
func WithQueueSize(n int) Option { return func(o *options) { o.queue = n } }

// WithMaxSubscriptions caps subscriptions per connection (default 100).
func WithMaxSubscriptions(n int) Option { return func(o *options) { o.maxSubs = n } }

// WithOrigins lists the browser origins allowed to connect, such as
// "https://atrium.example.com". A request without an Origin header (not a
// browser) is allowed; with no origins configured only same-host origins are.
func WithOrigins(origins ...string) Option {
	return func(o *options) { o.origins = append(o.origins, origins...) }
}

type subKey struct{ tenant, conv uuid.UUID }

// Hub accepts WebSocket connections and delivers events to them.
type Hub struct {
	auth  Authenticator
	authz Authorizer
	bus   Bus
	log   *slog.Logger
	opts  options

	mu     sync.RWMutex
	closed bool
	// wg counts running handlers (serve); each waits for its connection's
	// goroutines before it returns. Add happens under mu while !closed, so
	// Close's Wait never races an Add.
	wg    sync.WaitGroup
	conns map[*conn]struct{}
	subs  map[subKey]map[*conn]struct{}
	nsubs int
}

// NewHub returns a hub subscribed to the bus topic "realtime".
func NewHub(auth Authenticator, authz Authorizer, bus Bus, log *slog.Logger, opts ...Option) *Hub {
	o := options{
		pingEvery:    30 * time.Second,
		pingTimeout:  10 * time.Second,
		recheck:      500 * time.Millisecond,
		grace:        10 * time.Second,
		authTimeout:  5 * time.Second,
		writeTimeout: 10 * time.Second,
		queue:        64,
		maxSubs:      100,
		maxMsg:       4 << 10,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{auth: auth, authz: authz, bus: bus, log: log, opts: o,
		conns: map[*conn]struct{}{}, subs: map[subKey]map[*conn]struct{}{}}
	bus.Subscribe(BusTopic, h.deliver)
	return h
}

// Publish sends e to every instance; each delivers it to its connections of
// e.TenantID subscribed to e.ConversationID. It never waits for a client.
func (h *Hub) Publish(ctx context.Context, e Event) error {
	if e.TenantID == uuid.Nil || e.ConversationID == uuid.Nil {
		return errors.New("realtime: event needs a tenant and a conversation")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return h.bus.Publish(ctx, BusTopic, string(b))
}

// deliver runs for every bus message; it only enqueues.
func (h *Hub) deliver(msg string) {
	var e struct { // Data is passed through as is
		TenantID       uuid.UUID `json:"tenant_id"`
		ConversationID uuid.UUID `json:"conversation_id"`
	}
	if err := json.Unmarshal([]byte(msg), &e); err != nil {
		h.log.Warn("realtime: undecodable bus message", "err", err)
		return
	}
	frame := []byte(msg)
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return
	}
	var slow []*conn
	for c := range h.subs[subKey{e.TenantID, e.ConversationID}] {
		if c.paused.Load() {
			continue // unverified for now: nothing flows to it
		}
		if !c.enqueue(frame) {
			slow = append(slow, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range slow {
		h.log.Info("realtime: closing slow consumer", "user", c.principal.UserID)
		c.close(websocket.StatusPolicyViolation, "slow consumer")
	}
}

// Close closes every connection, refuses new ones, and waits until every
// connection's goroutines have ended or ctx is done (then it returns ctx's
// error; the goroutines still end, once their sockets do). A connection still
// authenticating ends within the authentication timeout.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("realtime: connections still closing: %w", ctx.Err())
	}
}

// Stats reports open connections and subscriptions on this instance.
func (h *Hub) Stats() (connections, subscriptions int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns), h.nsubs
}

// Handler returns the WebSocket endpoint.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serve) }

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("token") || q.Has("access_token") {
		http.Error(w, "access tokens are not accepted in the URL", http.StatusBadRequest)
		return
	}
	if !h.originAllowed(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	h.mu.Lock()
	closed := h.closed
	if !closed {
		h.wg.Add(1)
	}
	h.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.wg.Done()

	// The connection outlives nothing but itself: keep the request's values
	// (request ID, logger) without its cancellation.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()

	// A token in the subprotocol header is checked before the upgrade.
	token, hasToken := headerToken(r)
	var (
		vctx context.Context
		p    Principal
	)
	if hasToken {
		var err error
		vctx, p, err = h.auth.Authenticate(ctx, token)
		if err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
	}

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{Subprotocol},
		InsecureSkipVerify: true, // originAllowed checked scheme and host exactly
	})
	if err != nil {
		return // Accept wrote the response
	}
	ws.SetReadLimit(h.opts.maxMsg)

	if !hasToken {
		token, vctx, p, err = h.firstMessageAuth(ctx, ws)
		if err != nil {
			_ = ws.Close(StatusUnauthenticated, "unauthenticated")
			return
		}
	}

	c := &conn{hub: h, ws: ws, token: token, principal: p, vctx: vctx,
		send: make(chan []byte, h.opts.queue), subs: map[uuid.UUID]struct{}{},
		ctx: ctx, cancel: cancel}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()

	c.wg.Add(3)
	go func() { defer c.wg.Done(); c.writeLoop() }()
	go func() { defer c.wg.Done(); c.pingLoop() }()
	go func() { defer c.wg.Done(); c.recheckLoop() }()
	c.readLoop()
	c.wg.Wait() // readLoop closed c: the loops and the socket's close end
}

// firstMessageAuth waits for {"type":"auth","token":"…"}.
func (h *Hub) firstMessageAuth(ctx context.Context, ws *websocket.Conn) (string, context.Context, Principal, error) {
	// A cancelled read context would drop the TCP connection without a close
	// frame; a timer closes it properly instead.
	t := time.AfterFunc(h.opts.authTimeout, func() { _ = ws.Close(StatusUnauthenticated, "authentication timeout") })
	defer t.Stop()
	typ, b, err := ws.Read(context.Background())
	if err != nil {
		return "", nil, Principal{}, err
	}
	var m clientMsg
	if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil || m.Type != "auth" || m.Token == "" {
		return "", nil, Principal{}, errors.New("first message is not auth")
	}
	vctx, p, err := h.auth.Authenticate(ctx, m.Token)
	return m.Token, vctx, p, err
}

// headerToken finds bearer.<token> among the offered subprotocols.
func headerToken(r *http.Request) (string, bool) {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if len(p) > len(bearerPrefix) && strings.EqualFold(p[:len(bearerPrefix)], bearerPrefix) {
				return p[len(bearerPrefix):], true
			}
		}
	}
	return "", false
}

func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(h.opts.origins) == 0 {
		return strings.EqualFold(u.Host, r.Host)
	}
	for _, o := range h.opts.origins {
		ou, err := url.Parse(o)
		if err == nil && strings.EqualFold(ou.Scheme, u.Scheme) && strings.EqualFold(ou.Host, u.Host) {
			return true
		}
	}
	return false
}

// subscribe adds c to the index; it reports false when c is at its limit.
func (h *Hub) subscribe(c *conn, conv uuid.UUID) (ok, already bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, false
	}
	if _, dup := c.subs[conv]; dup {
		return true, true
	}
	if len(c.subs) >= h.opts.maxSubs {
		return false, false
	}
	c.subs[conv] = struct{}{}
	k := subKey{c.principal.TenantID, conv}
	if h.subs[k] == nil {
		h.subs[k] = map[*conn]struct{}{}
	}
	h.subs[k][c] = struct{}{}
	h.nsubs++
	return true, false
}

// unsubscribe removes c's subscription; it reports whether there was one.
func (h *Hub) unsubscribe(c *conn, conv uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.subs[conv]; !ok {
		return false
	}
	delete(c.subs, conv)
	h.unindex(c, conv)
	return true
}

func (h *Hub) unindex(c *conn, conv uuid.UUID) {
	k := subKey{c.principal.TenantID, conv}
	delete(h.subs[k], c)
	if len(h.subs[k]) == 0 {
		delete(h.subs, k)
	}
	h.nsubs--
}

func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for conv := range c.subs {
		h.unindex(c, conv)
	}
	c.subs = map[uuid.UUID]struct{}{}
	delete(h.conns, c)
}
