package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// clientMsg is any client-to-server message.
type clientMsg struct {
	Type           string `json:"type"`
	Token          string `json:"token,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
}

// errorData is the Data of an error event; Code is stable, Message is safe
// to show.
type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type conn struct {
	hub       *Hub
	ws        *websocket.Conn
	token     string
	principal Principal
	ctx       context.Context
	cancel    context.CancelFunc
	paused    atomic.Bool    // the last recheck could not be decided
	wg        sync.WaitGroup // work on the connection (timers, writer, close)

	mu     sync.Mutex // guards the fields below; taken after hub.mu
	vctx   context.Context
	subs   []uuid.UUID // a few at most: a slice is smaller than a map
	closed bool
	// Recheck scheduling (Hub.schedule): what is pending, and whether c is
	// queued or being rechecked.
	scheduled bool
	pendFull  bool
	pendConvs []uuid.UUID
	recheckT  Timer // the next safety (or retry) recheck
	pingT     Timer
	expiryT   Timer
	// unverifiedSince is when rechecks started failing undecided; only the
	// worker rechecking c touches it.
	unverifiedSince time.Time

	wmu     sync.Mutex // guards the send queue; taken after hub.mu and mu
	queue   [][]byte   // nil while idle
	writing bool       // a writer goroutine is draining queue
	wclosed bool
}

// start arms the connection's timers: ping, safety recheck, token expiry.
func (c *conn) start() {
	h := c.hub
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed { // Hub.Close came first
		return
	}
	c.pingT = h.opts.clock.AfterFunc(h.opts.pingEvery, c.ping)
	c.recheckT = h.opts.clock.AfterFunc(c.nextRecheck(), c.safetyRecheck)
	if !c.principal.ExpiresAt.IsZero() {
		c.expiryT = h.opts.clock.AfterFunc(c.principal.ExpiresAt.Sub(h.opts.clock.Now()), func() {
			c.close(StatusUnauthenticated, "token expired")
		})
	}
}

// nextRecheck is the wait until the next safety recheck: uniform in ⅔–4⁄3
// of the interval (so connections made together do not recheck together),
// or the short interval while the bus may be losing invalidations.
func (c *conn) nextRecheck() time.Duration {
	o := c.hub.opts
	if !c.hub.healthy() {
		return o.fastRecheck
	}
	return o.recheck*2/3 + rand.N(o.recheck*2/3+1)
}

func (c *conn) safetyRecheck() { c.hub.schedule(c, true, uuid.Nil) }

// rearm sets the next safety recheck d from now.
func (c *conn) rearm(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.recheckT != nil {
		c.recheckT.Stop()
	}
	c.recheckT = c.hub.opts.clock.AfterFunc(d, c.safetyRecheck)
}

// enqueue never blocks; false means the queue is full. A writer goroutine
// runs only while there is something to write.
func (c *conn) enqueue(frame []byte) bool {
	c.wmu.Lock()
	if c.wclosed {
		c.wmu.Unlock()
		return true
	}
	if len(c.queue) >= c.hub.opts.queue {
		c.wmu.Unlock()
		return false
	}
	c.queue = append(c.queue, frame)
	start := !c.writing
	if start {
		c.writing = true
		c.wg.Add(1) // under wmu while !wclosed: before serve's Wait
	}
	c.wmu.Unlock()
	if start {
		go c.writeLoop()
	}
	return true
}

func (c *conn) writeLoop() {
	defer c.wg.Done()
	for {
		c.wmu.Lock()
		if len(c.queue) == 0 || c.wclosed {
			c.writing = false
			c.queue = nil
			c.wmu.Unlock()
			return
		}
		b := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.wmu.Unlock()
		// Not c.ctx: cancelling a write drops the socket without a close
		// frame; close() closes the socket, which ends the write.
		ctx, cancel := context.WithTimeout(context.Background(), c.hub.opts.writeTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			c.close(websocket.StatusPolicyViolation, "write failed")
			return
		}
	}
}

// close removes c from the hub at once and closes the socket in the
// background, so that neither a publisher nor a slow peer waits.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, t := range []Timer{c.pingT, c.recheckT, c.expiryT} {
		if t != nil {
			t.Stop()
		}
	}
	c.wg.Add(1) // under mu: before serve's Wait, which follows readLoop's close
	c.mu.Unlock()
	c.wmu.Lock()
	c.wclosed, c.queue = true, nil
	c.wmu.Unlock()
	c.hub.remove(c)
	c.cancel()
	go func() {
		defer c.wg.Done()
		_ = c.ws.Close(code, reason)
	}()
}

// busy counts work on c while it is open; false means c is closed.
func (c *conn) busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// ping runs on the ping timer: a ping unanswered within the timeout closes
// the connection, else the next one is armed.
func (c *conn) ping() {
	if !c.busy() {
		return
	}
	defer c.wg.Done()
	h := c.hub
	ctx, cancel := context.WithCancel(context.Background()) // not c.ctx: see writeLoop
	t := h.opts.clock.AfterFunc(h.opts.pingTimeout, cancel)
	err := c.ws.Ping(ctx)
	t.Stop()
	cancel()
	if err != nil {
		c.close(websocket.StatusPolicyViolation, "ping timeout")
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.pingT = h.opts.clock.AfterFunc(h.opts.pingEvery, c.ping)
	}
	c.mu.Unlock()
}

func (c *conn) viewer() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vctx
}

// sendEvent queues a control event for this connection only.
func (c *conn) sendEvent(e Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if !c.enqueue(b) {
		c.close(websocket.StatusPolicyViolation, "slow consumer")
	}
}

func (c *conn) sendError(conv uuid.UUID, code, msg string) {
	d, _ := json.Marshal(errorData{Code: code, Message: msg})
	c.sendEvent(Event{Type: TypeError, ConversationID: conv, Data: d})
}

func (c *conn) readLoop() {
	defer c.close(websocket.StatusNormalClosure, "")
	for {
		// Not c.ctx: cancelling a read drops the socket without a close
		// frame. close() closes the socket, which ends the read.
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		var m clientMsg
		if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
			c.sendError(uuid.Nil, "invalid", "messages are JSON text")
			continue
		}
		switch m.Type {
		case "ping":
			c.sendEvent(Event{Type: TypePong})
		case "subscribe":
			c.handleSubscribe(m)
		case "unsubscribe":
			conv, err := uuid.Parse(m.ConversationID)
			if err != nil {
				c.sendError(uuid.Nil, "invalid", "conversation_id is not a UUID")
				continue
			}
			c.hub.unsubscribe(c, conv)
			c.sendEvent(Event{Type: TypeUnsubscribed, TenantID: c.principal.TenantID, ConversationID: conv,
				Data: json.RawMessage(`{"reason":"requested"}`)})
		case "auth":
			c.sendError(uuid.Nil, "invalid", "already authenticated")
		default:
			c.sendError(uuid.Nil, "invalid", "unknown message type")
		}
	}
}

func (c *conn) handleSubscribe(m clientMsg) {
	conv, err := uuid.Parse(m.ConversationID)
	if err != nil {
		c.sendError(uuid.Nil, "invalid", "conversation_id is not a UUID")
		return
	}
	// Not readable and not existing look the same to the client.
	if err := c.hub.authz.CanRead(c.viewer(), conv); err != nil {
		c.sendError(conv, "not_found", "conversation not found")
		return
	}
	ok, _ := c.hub.subscribe(c, conv)
	if !ok {
		c.sendError(conv, "too_many_subscriptions", "subscription limit reached")
		return
	}
	c.sendEvent(Event{Type: TypeSubscribed, TenantID: c.principal.TenantID, ConversationID: conv})
}

// recheck makes revocations take effect: a session that no longer
// authenticates closes the connection, a conversation that is no longer
// readable loses its subscription. full re-runs Authenticate and checks
// every subscription; otherwise only convs are checked. A recheck that
// cannot be decided (a dependency down) pauses the connection's events,
// failing closed without a reconnect storm, and is retried soon; the
// connection is closed if that lasts longer than the grace. Only one worker
// rechecks c at a time (Hub.schedule).
func (c *conn) recheck(full bool, convs []uuid.UUID) {
	h := c.hub
	if !c.busy() {
		return
	}
	defer c.wg.Done()
	if full {
		vctx, p, err := h.auth.Authenticate(c.ctx, c.token)
		if c.ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrUnavailable) {
			now := h.opts.clock.Now()
			if c.unverifiedSince.IsZero() {
				c.unverifiedSince = now
				c.paused.Store(true)
				c.sendError(uuid.Nil, "unavailable", "events are paused: authentication is temporarily unavailable")
			}
			if now.Sub(c.unverifiedSince) >= h.opts.grace {
				c.close(websocket.StatusTryAgainLater, "authentication unavailable")
				return
			}
			c.rearm(h.opts.fastRecheck)
			return
		}
		if err != nil || p.UserID != c.principal.UserID || p.TenantID != c.principal.TenantID {
			c.close(StatusUnauthenticated, "session revoked")
			return
		}
		c.mu.Lock()
		c.vctx = vctx
		convs = slices.Clone(c.subs)
		c.mu.Unlock()
	}
	vctx := c.viewer()
	for _, conv := range convs {
		if err := h.authz.CanRead(vctx, conv); err == nil || c.ctx.Err() != nil {
			continue
		}
		if h.unsubscribe(c, conv) {
			c.sendEvent(Event{Type: TypeUnsubscribed, TenantID: c.principal.TenantID, ConversationID: conv,
				Data: json.RawMessage(`{"reason":"revoked"}`)})
		}
	}
	if !full {
		return
	}
	if !c.unverifiedSince.IsZero() { // verified again, subscriptions rechecked
		c.unverifiedSince = time.Time{}
		c.paused.Store(false)
		c.sendEvent(Event{Type: TypeResumed, TenantID: c.principal.TenantID})
	}
	c.rearm(c.nextRecheck())
}
