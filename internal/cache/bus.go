// Package cache holds the cross-instance invalidation bus used by the caches
// of sessions and permissions: Redis pub/sub when Redis is configured, an
// in-process bus otherwise (one instance only).
package cache

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Bus broadcasts invalidation messages to every instance, including the sender.
type Bus interface {
	// Publish sends msg on topic to every subscriber of every instance.
	Publish(ctx context.Context, topic, msg string) error
	// Subscribe calls fn for every message on topic until the bus closes.
	Subscribe(topic string, fn func(msg string))
}

// LocalBus is the in-process bus for a single instance.
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

const redisPrefix = "atrium:bus:"

// RedisBus is the Redis pub/sub bus shared by all instances.
type RedisBus struct {
	local  *LocalBus
	rdb    redis.UniversalClient
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRedisBus subscribes to every bus topic on rdb and fans messages out to
// local subscribers until Close.
func NewRedisBus(rdb redis.UniversalClient, log *slog.Logger) *RedisBus {
	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBus{local: NewLocalBus(), rdb: rdb, log: log, cancel: cancel, done: make(chan struct{})}
	ps := rdb.PSubscribe(ctx, redisPrefix+"*")
	go func() {
		defer close(b.done)
		defer ps.Close()
		ch := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				_ = b.local.Publish(ctx, strings.TrimPrefix(m.Channel, redisPrefix), m.Payload)
			}
		}
	}()
	return b
}

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, topic, msg string) error {
	return b.rdb.Publish(ctx, redisPrefix+topic, msg).Err()
}

// Subscribe implements Bus.
func (b *RedisBus) Subscribe(topic string, fn func(string)) { b.local.Subscribe(topic, fn) }

// Close stops the subscription.
func (b *RedisBus) Close() {
	b.cancel()
	<-b.done
}
