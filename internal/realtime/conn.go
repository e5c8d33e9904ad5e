package realtime

import (
	"context"
	"encoding/json"
	"errors"
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
	send      chan []byte
	ctx       context.Context
	cancel    context.CancelFunc
	paused    atomic.Bool    // the last recheck could not be decided
	wg        sync.WaitGroup // the connection's goroutines, close's included

	mu     sync.Mutex // guards the fields below; taken after hub.mu
	vctx   context.Context
	subs   map[uuid.UUID]struct{}
	closed bool
}

// enqueue never blocks; false means the queue is full.
func (c *conn) enqueue(frame []byte) bool {
	select {
	case c.send <- frame:
		return true
	default:
		return false
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
	c.wg.Add(1) // under mu: before serve's Wait, which follows readLoop's close
	c.mu.Unlock()
	c.hub.remove(c)
	c.cancel()
	go func() {
		defer c.wg.Done()
		_ = c.ws.Close(code, reason)
	}()
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

func (c *conn) writeLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case b := <-c.send:
			ctx, cancel := context.WithTimeout(context.Background(), c.hub.opts.writeTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.close(websocket.StatusPolicyViolation, "write failed")
				return
			}
		}
	}
}

func (c *conn) pingLoop() {
	t := time.NewTicker(c.hub.opts.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.hub.opts.pingTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.close(websocket.StatusPolicyViolation, "ping timeout")
				return
			}
		}
	}
}

// recheckLoop makes revocations take effect: a session that no longer
// authenticates closes the connection, a conversation that is no longer
// readable loses its subscription. A recheck that cannot be decided (a
// dependency down) pauses the connection's events, failing closed without
// a reconnect storm; it is closed if that lasts longer than the grace.
func (c *conn) recheckLoop() {
	t := time.NewTicker(c.hub.opts.recheck)
	defer t.Stop()
	var unverifiedSince time.Time
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		vctx, p, err := c.hub.auth.Authenticate(c.ctx, c.token)
		if c.ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrUnavailable) {
			if unverifiedSince.IsZero() {
				unverifiedSince = time.Now()
				c.paused.Store(true)
				c.sendError(uuid.Nil, "unavailable", "events are paused: authentication is temporarily unavailable")
			}
			if time.Since(unverifiedSince) >= c.hub.opts.grace {
				c.close(websocket.StatusTryAgainLater, "authentication unavailable")
				return
			}
			continue
		}
		if err != nil || p.UserID != c.principal.UserID || p.TenantID != c.principal.TenantID {
			c.close(StatusUnauthenticated, "session revoked")
			return
		}
		c.mu.Lock()
		c.vctx = vctx
		convs := make([]uuid.UUID, 0, len(c.subs))
		for conv := range c.subs {
			convs = append(convs, conv)
		}
		c.mu.Unlock()
		for _, conv := range convs {
			if err := c.hub.authz.CanRead(vctx, conv); err == nil || c.ctx.Err() != nil {
				continue
			}
			if c.hub.unsubscribe(c, conv) {
				c.sendEvent(Event{Type: TypeUnsubscribed, TenantID: c.principal.TenantID, ConversationID: conv,
					Data: json.RawMessage(`{"reason":"revoked"}`)})
			}
		}
		if !unverifiedSince.IsZero() { // verified again, subscriptions rechecked
			unverifiedSince = time.Time{}
			c.paused.Store(false)
			c.sendEvent(Event{Type: TypeResumed, TenantID: c.principal.TenantID})
		}
	}
}
