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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// Principal is who a connection acts for. ExpiresAt is when its access
// token expires (zero: never); the connection is closed with 4401 then.
type Principal struct {
	UserID, TenantID, SessionID uuid.UUID
	ExpiresAt                   time.Time
}

// Authenticator checks an access token. The returned context carries the
// viewer and is what later Authorizer calls receive. An error wrapping
// ErrUnavailable says the check could not be made (a dependency is down),
// not that the token is bad.
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (context.Context, Principal, error)
}

// Authorizer decides whether the viewer in ctx may read a conversation; nil
// means allowed. It is called on subscribe and again on every recheck (see
// Hub.Recheck), so it should be cached.
type Authorizer interface {
	CanRead(ctx context.Context, conversationID uuid.UUID) error
}

// Bus broadcasts messages to every instance, including the sender;
// atrium/internal/cache.Bus satisfies it. A bus that also has
// Healthy() bool (cache.Bus does) makes the hub recheck often while it is
// unhealthy, because invalidations may then be lost.
type Bus interface {
	Publish(ctx context.Context, topic, msg string) error
	Subscribe(topic string, fn func(msg string))
}

// Clock is the time source of the hub's timers (WithClock); tests move a
// fake one on instead of waiting.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer made by a Clock.
type Timer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

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
	fastRecheck  time.Duration
	workers      int
	clock        Clock
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

// WithRecheck sets the safety recheck: how often, on average, each
// connection re-runs Authenticate and, for every subscription, CanRead when
// nothing told the hub to (default 45 s; each wait is drawn uniformly from
// ⅔ to 4⁄3 of it, so 30–60 s). Revocations do not wait for it: Recheck
// acts at once.
func WithRecheck(every time.Duration) Option { return func(o *options) { o.recheck = every } }

// WithDegradedRecheck sets how often connections are rechecked while the bus
// is unhealthy (invalidations may be lost) and while a connection's recheck
// cannot be decided (default 1 s).
func WithDegradedRecheck(every time.Duration) Option {
	return func(o *options) { o.fastRecheck = every }
}

// WithRecheckWorkers bounds how many rechecks run at once (default 4): a
// change that affects every connection is worked through, not started all
// at once.
func WithRecheckWorkers(n int) Option { return func(o *options) { o.workers = n } }

// WithClock sets the clock of the hub's timers (pings, rechecks, token
// expiry, the authentication timeout).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

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

type userKey struct{ tenant, user uuid.UUID }

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
	wg        sync.WaitGroup
	conns     map[*conn]struct{}
	subs      map[subKey]map[*conn]struct{}
	bySession map[uuid.UUID]map[*conn]struct{}
	byUser    map[userKey]map[*conn]struct{}
	nsubs     int

	healthy func() bool

	// The recheck queue: connections with a pending recheck, worked
	// through by at most opts.workers goroutines that exist only while
	// there is work.
	qmu      sync.Mutex
	queue    []*conn
	running  int
	qclosed  bool
	workerWG sync.WaitGroup
}

// NewHub returns a hub subscribed to the bus topic "realtime".
func NewHub(auth Authenticator, authz Authorizer, bus Bus, log *slog.Logger, opts ...Option) *Hub {
	o := options{
		pingEvery:    30 * time.Second,
		pingTimeout:  10 * time.Second,
		recheck:      45 * time.Second,
		fastRecheck:  time.Second,
		workers:      4,
		clock:        realClock{},
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
		conns: map[*conn]struct{}{}, subs: map[subKey]map[*conn]struct{}{},
		bySession: map[uuid.UUID]map[*conn]struct{}{}, byUser: map[userKey]map[*conn]struct{}{},
		healthy: func() bool { return true }}
	if hb, ok := bus.(interface{ Healthy() bool }); ok {
		h.healthy = hb.Healthy
	}
	bus.Subscribe(BusTopic, h.deliver)
	return h
}

// Change names the connections whose authentication or authorization may
// have changed: Recheck rechecks them at once. Zero fields widen:
//
//   - Session set: the connections of that session (revoked, expired);
//   - Conversation set (with Tenant): the subscriptions to it (a share
//     removed, the conversation deleted) — only those are rechecked;
//   - User set (with Tenant): that member's connections (permissions, teams,
//     membership);
//   - only Tenant set: every connection of the tenant;
//   - nothing set: every connection (caches were reset, messages may have
//     been lost).
type Change struct {
	Tenant, User, Session, Conversation uuid.UUID
}

// Recheck schedules a recheck of the connections c affects and returns at
// once; it never waits for a client or a check. A full recheck re-runs
// Authenticate (4401 if it fails) and CanRead for every subscription
// (unsubscribed/revoked for those that fail); a conversation's recheck runs
// CanRead for that subscription only. Call it after the caches the checks
// read have dropped the changed answer.
func (h *Hub) Recheck(c Change) {
	h.mu.RLock()
	var full, one []*conn
	switch {
	case c.Session != uuid.Nil:
		full = keys(h.bySession[c.Session])
	case c.Conversation != uuid.Nil && c.Tenant != uuid.Nil:
		one = keys(h.subs[subKey{c.Tenant, c.Conversation}])
	case c.User != uuid.Nil && c.Tenant != uuid.Nil:
		full = keys(h.byUser[userKey{c.Tenant, c.User}])
	default:
		for cn := range h.conns {
			if c.Tenant == uuid.Nil || cn.principal.TenantID == c.Tenant {
				full = append(full, cn)
			}
		}
	}
	h.mu.RUnlock()
	for _, cn := range full {
		h.schedule(cn, true, uuid.Nil)
	}
	for _, cn := range one {
		h.schedule(cn, false, c.Conversation)
	}
}

func keys(m map[*conn]struct{}) []*conn {
	out := make([]*conn, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	return out
}

// schedule records a pending recheck of c (full, or of conv) and queues c
// unless it is queued or being rechecked already (that worker picks the new
// work up before it lets c go).
func (h *Hub) schedule(c *conn, full bool, conv uuid.UUID) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if full {
		c.pendFull = true
	} else if !slices.Contains(c.pendConvs, conv) {
		c.pendConvs = append(c.pendConvs, conv)
	}
	if c.scheduled {
		c.mu.Unlock()
		return
	}
	c.scheduled = true
	c.mu.Unlock()

	h.qmu.Lock()
	defer h.qmu.Unlock()
	if h.qclosed {
		return
	}
	h.queue = append(h.queue, c)
	if h.running < h.opts.workers {
		h.running++
		h.workerWG.Add(1)
		go h.work()
	}
}

// work rechecks queued connections until the queue is empty.
func (h *Hub) work() {
	defer h.workerWG.Done()
	for {
		h.qmu.Lock()
		if len(h.queue) == 0 || h.qclosed {
			h.running--
			h.queue = nil
			h.qmu.Unlock()
			return
		}
		c := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		h.qmu.Unlock()
		for {
			c.mu.Lock()
			full, convs := c.pendFull, c.pendConvs
			c.pendFull, c.pendConvs = false, nil
			if (!full && len(convs) == 0) || c.closed {
				c.scheduled = false
				c.mu.Unlock()
				break
			}
			c.mu.Unlock()
			c.recheck(full, convs)
		}
	}
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
	conns := keys(h.conns)
	h.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	h.qmu.Lock()
	h.qclosed = true
	h.qmu.Unlock()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		h.workerWG.Wait()
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
	handedOver := false
	defer func() {
		if !handedOver {
			h.wg.Done()
		}
	}()

	// The connection outlives nothing but itself: keep the request's values
	// (request ID, logger) without its cancellation.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer func() {
		if !handedOver {
			cancel()
		}
	}()

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

	c := &conn{hub: h, ws: ws, token: token, principal: p, vctx: vctx, ctx: ctx, cancel: cancel}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.conns[c] = struct{}{}
	add(h.bySession, p.SessionID, c)
	add(h.byUser, userKey{p.TenantID, p.UserID}, c)
	h.mu.Unlock()

	c.start()
	// The handler returns and frees what serving the HTTP request held (its
	// goroutine's stack, the request and response); the connection lives on
	// in one goroutine of its own, blocked in a read while idle. Timers
	// (pings, rechecks, token expiry) and an on-demand writer do the rest.
	handedOver = true
	go func() {
		defer h.wg.Done()
		defer cancel()
		c.readLoop()
		c.wg.Wait() // readLoop closed c: the timers' work and the socket's close end
	}()
}

func add[K comparable](m map[K]map[*conn]struct{}, k K, c *conn) {
	if m[k] == nil {
		m[k] = map[*conn]struct{}{}
	}
	m[k][c] = struct{}{}
}

func del[K comparable](m map[K]map[*conn]struct{}, k K, c *conn) {
	delete(m[k], c)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// firstMessageAuth waits for {"type":"auth","token":"…"}.
func (h *Hub) firstMessageAuth(ctx context.Context, ws *websocket.Conn) (string, context.Context, Principal, error) {
	// A cancelled read context would drop the TCP connection without a close
	// frame; a timer closes it properly instead.
	t := h.opts.clock.AfterFunc(h.opts.authTimeout, func() { _ = ws.Close(StatusUnauthenticated, "authentication timeout") })
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
	if slices.Contains(c.subs, conv) {
		return true, true
	}
	if len(c.subs) >= h.opts.maxSubs {
		return false, false
	}
	c.subs = append(c.subs, conv)
	add(h.subs, subKey{c.principal.TenantID, conv}, c)
	h.nsubs++
	return true, false
}

// unsubscribe removes c's subscription; it reports whether there was one.
func (h *Hub) unsubscribe(c *conn, conv uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.subs, conv)
	if i < 0 {
		return false
	}
	c.subs = slices.Delete(c.subs, i, i+1)
	del(h.subs, subKey{c.principal.TenantID, conv}, c)
	h.nsubs--
	return true
}

func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conv := range c.subs {
		del(h.subs, subKey{c.principal.TenantID, conv}, c)
		h.nsubs--
	}
	c.subs = nil
	delete(h.conns, c)
	del(h.bySession, c.principal.SessionID, c)
	del(h.byUser, userKey{c.principal.TenantID, c.principal.UserID}, c)
}
