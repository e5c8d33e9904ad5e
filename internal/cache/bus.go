// Package cache holds the cross-instance invalidation bus used by the caches
// of sessions and permissions: Redis pub/sub when Redis is configured, an
// in-process bus otherwise (one instance only).
//
// A cache that trusts the bus may keep entries for minutes, because every
// change reaches it as a message. When the bus cannot promise that (Redis is
// down, the subscription dropped, a publish failed), it says so: Healthy
// turns false and the caches are reset, so they fall back to short lifetimes
// until the bus is healthy again, and are reset once more then, because
// messages sent meanwhile are lost.
package cache

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bus broadcasts invalidation messages to every instance, including the sender.
type Bus interface {
	// Publish sends msg on topic to every subscriber of every instance.
	Publish(ctx context.Context, topic, msg string) error
	// Subscribe calls fn for every message on topic until the bus closes.
	Subscribe(topic string, fn func(msg string))
	// Healthy reports whether messages from every instance are being
	// delivered here. While it is false, caches must not keep entries longer
	// than they can tolerate being stale.
	Healthy() bool
	// OnReset calls fn whenever caches must be cleared; see Reset.
	OnReset(fn func(ctx context.Context, why Reset) error)
	// Lost records that an invalidation made here may not have reached every
	// instance (for example a shared cache level could not be updated). The
	// bus resynchronises every instance as soon as it can.
	Lost()
}

// Reset says why a bus asks its caches to clear themselves.
type Reset int

const (
	// ResetDegraded: the bus stopped delivering messages. Clear in-process
	// entries, keep new ones briefly and do not use shared cache levels.
	ResetDegraded Reset = iota + 1
	// ResetResync: messages of this instance or to it may have been lost.
	// Make every shared cache level stale (the bus tells the other instances
	// right after all handlers returned nil), then clear in-process entries.
	ResetResync
	// ResetRefresh: the bus (re)connected after start-up, or another
	// instance resynchronised. Re-read shared state and clear in-process
	// entries.
	ResetRefresh
)

func (r Reset) String() string {
	switch r {
	case ResetDegraded:
		return "degraded"
	case ResetResync:
		return "resync"
	case ResetRefresh:
		return "refresh"
	}
	return "unknown"
}

// LocalBus is the in-process bus for a single instance. It is always
// healthy: delivery is a function call.
type LocalBus struct {
	mu   sync.RWMutex
	subs map[string][]func(string)
}

// NewLocalBus returns an in-process bus.
func NewLocalBus() *LocalBus { return &LocalBus{subs: map[string][]func(string){}} }

// Publish implements Bus; delivery is synchronous.
func (b *LocalBus) Publish(_ context.Context, topic, msg string) error {
	b.mu.RLock()
	fns := b.subs[topic]
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(msg)
	}
	return nil
}

// Subscribe implements Bus.
func (b *LocalBus) Subscribe(topic string, fn func(string)) {
	b.mu.Lock()
	b.subs[topic] = append(b.subs[topic], fn)
	b.mu.Unlock()
}

// Healthy implements Bus: an in-process bus loses nothing.
func (b *LocalBus) Healthy() bool { return true }

// OnReset implements Bus: an in-process bus never resets.
func (b *LocalBus) OnReset(func(context.Context, Reset) error) {}

// Lost implements Bus; there is nobody else to tell.
func (b *LocalBus) Lost() {}

const (
	redisPrefix = "atrium:bus:"
	resetTopic  = "bus.reset"
)

// RedisOptions tune how fast a RedisBus notices a dead subscription.
type RedisOptions struct {
	// PingEvery is how long the subscription may be silent before it is
	// pinged; a ping unanswered for as long again marks the bus unhealthy and
	// reconnects. Default 500 ms.
	PingEvery time.Duration
	// StartWait is how long NewRedisBus waits for the first subscription
	// before returning (unhealthy). Default 3 s.
	StartWait time.Duration
	// CallTimeout bounds every Redis call the bus makes: a publish, and the
	// calls of reset handlers. Invalidation must not wait for a Redis that
	// stopped answering; the degraded lifetimes are the safety net. Default
	// 250 ms.
	CallTimeout time.Duration
}

// ErrUnhealthy is returned by RedisBus.Publish while the bus is unhealthy:
// the message is not sent (nobody would be sure to get it), and every
// instance resynchronises once Redis is back.
var ErrUnhealthy = errors.New("cache bus: unhealthy, message not sent; instances resynchronise when Redis is back")

// RedisBus is the Redis pub/sub bus shared by all instances.
type RedisBus struct {
	local  *LocalBus
	rdb    redis.UniversalClient
	log    *slog.Logger
	opts   RedisOptions
	cancel context.CancelFunc
	done   chan struct{}

	healthy     atomic.Bool
	lost        atomic.Bool // a publish failed: resynchronise when possible
	everHealthy bool        // run's own: the first subscription is no recovery

	mu     sync.Mutex
	resets []func(context.Context, Reset) error
}

// NewRedisBus subscribes to every bus topic on rdb and fans messages out to
// local subscribers until Close. It waits up to opts.StartWait for the
// subscription, so a healthy Redis gives a healthy bus from the start.
func NewRedisBus(rdb redis.UniversalClient, log *slog.Logger, opts ...RedisOptions) *RedisBus {
	var o RedisOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.PingEvery <= 0 {
		o.PingEvery = 500 * time.Millisecond
	}
	if o.StartWait <= 0 {
		o.StartWait = 3 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 250 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBus{local: NewLocalBus(), rdb: rdb, log: log, opts: o, cancel: cancel, done: make(chan struct{})}
	b.local.Subscribe(resetTopic, func(string) { b.reset(ctx, ResetRefresh) })
	started := make(chan struct{})
	go b.run(ctx, started)
	select {
	case <-started:
	case <-time.After(o.StartWait):
		log.Warn("cache bus: no Redis subscription yet; caches run degraded until there is one")
	}
	return b
}

// run keeps the subscription alive and reports its health. It reads with a
// timeout so that a silent connection is pinged, and an unanswered ping
// replaces the subscription.
func (b *RedisBus) run(ctx context.Context, started chan struct{}) {
	defer close(b.done)
	var once sync.Once
	ps := b.rdb.PSubscribe(ctx, redisPrefix+"*")
	defer func() { ps.Close() }()
	pinged, backoff := false, 50*time.Millisecond
	for {
		if b.lost.Load() && b.healthy.Load() {
			b.resync(ctx)
		}
		msg, err := ps.ReceiveTimeout(ctx, b.opts.PingEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !pinged {
					pinged = true
					if perr := ps.Ping(ctx, "atrium"); perr == nil {
						continue
					}
				}
				err = errors.New("subscription silent: ping unanswered")
				// Unhealthy before re-subscribing: a new connection to a
				// Redis that does not answer waits for its handshake
				// (seconds), and the caches must not trust the bus meanwhile.
				b.setHealthy(ctx, false, err)
				ps.Close()
				ps = b.rdb.PSubscribe(ctx, redisPrefix+"*")
			}
			b.setHealthy(ctx, false, err)
			pinged = false
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		pinged, backoff = false, 50*time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "psubscribe" {
				b.setHealthy(ctx, true, nil)
				once.Do(func() { close(started) })
			}
		case *redis.Message:
			_ = b.local.Publish(ctx, strings.TrimPrefix(m.Channel, redisPrefix), m.Payload)
		case *redis.Pong:
		}
	}
}

// setHealthy records a health change and resets the caches on a transition.
func (b *RedisBus) setHealthy(ctx context.Context, ok bool, cause error) {
	was := b.healthy.Swap(ok)
	switch {
	case ok && !was:
		if b.everHealthy {
			b.log.Warn("cache bus recovered: Redis subscription restored; resynchronising caches")
			b.lost.Store(true) // messages sent while we were away are lost
		} else {
			b.everHealthy = true
			b.reset(ctx, ResetRefresh)
		}
	case !ok && was && ctx.Err() != nil:
		// Closing: the subscription ends on purpose.
	case !ok && was:
		b.log.Error("cache bus degraded: Redis subscription lost; caches use short lifetimes and skip Redis", "err", cause)
		b.reset(ctx, ResetDegraded)
	}
}

// resync makes every instance drop what it may have missed: the handlers
// here make shared levels stale, then every instance is told to refresh.
func (b *RedisBus) resync(ctx context.Context) {
	if err := b.reset(ctx, ResetResync); err != nil {
		b.log.Warn("cache bus resync failed; retrying", "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, b.opts.CallTimeout)
	defer cancel()
	if err := b.rdb.Publish(pctx, redisPrefix+resetTopic, "").Err(); err != nil {
		b.log.Warn("cache bus resync not announced; retrying", "err", err)
		return
	}
	b.lost.Store(false)
	b.log.Info("cache bus resynchronised")
}

// reset calls the reset handlers, each with CallTimeout for its Redis calls:
// a handler that cannot reach Redis fails (and the bus retries or stays
// degraded) instead of stalling the subscription loop.
func (b *RedisBus) reset(ctx context.Context, why Reset) error {
	b.mu.Lock()
	fns := b.resets
	b.mu.Unlock()
	var errs []error
	for _, fn := range fns {
		cctx, cancel := context.WithTimeout(ctx, b.opts.CallTimeout)
		errs = append(errs, fn(cctx, why))
		cancel()
	}
	return errors.Join(errs...)
}

// CallTimeout is the bound on each Redis call of the bus; handlers that
// call Redis outside a reset (on a message) use it too.
func (b *RedisBus) CallTimeout() time.Duration { return b.opts.CallTimeout }

// Publish implements Bus. While the bus is unhealthy it sends nothing and
// returns ErrUnhealthy at once; otherwise the publish is bounded by
// CallTimeout. A message not sent is remembered: once Redis works again
// every instance is told to resynchronise.
func (b *RedisBus) Publish(ctx context.Context, topic, msg string) error {
	if !b.healthy.Load() {
		b.lost.Store(true)
		return ErrUnhealthy
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.CallTimeout)
	defer cancel()
	err := b.rdb.Publish(ctx, redisPrefix+topic, msg).Err()
	if err != nil {
		b.lost.Store(true)
	}
	return err
}

// Subscribe implements Bus.
func (b *RedisBus) Subscribe(topic string, fn func(string)) { b.local.Subscribe(topic, fn) }

// Healthy implements Bus.
func (b *RedisBus) Healthy() bool { return b.healthy.Load() }

// OnReset implements Bus.
func (b *RedisBus) OnReset(fn func(context.Context, Reset) error) {
	b.mu.Lock()
	b.resets = append(b.resets, fn)
	b.mu.Unlock()
}

// Lost implements Bus.
func (b *RedisBus) Lost() { b.lost.Store(true) }

// Close stops the subscription.
func (b *RedisBus) Close() {
	b.cancel()
	<-b.done
}
