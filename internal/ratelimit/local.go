package ratelimit

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/maypok86/otter/v2"

	"atrium/internal/cache"
)

// localState is a key's theoretical arrival time and how long the entry must
// live (until the state is that of a new key), both in ms.
type localState struct {
	tat, ttl int64
}

type localLimiter struct {
	now   func() time.Time
	cache *otter.Cache[[16]byte, localState]
}

// NewLocal returns an in-process limiter, safe for concurrent use, that
// remembers at most WithMaxKeys keys (W-TinyLFU eviction keeps the busy
// ones) and forgets a key once its state is that of a new key. It reads
// WithClock and WithMaxKeys.
func NewLocal(opts ...Option) Limiter {
	o := newOptions(opts)
	oo := &otter.Options[[16]byte, localState]{
		MaximumSize: o.maxKeys,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[[16]byte, localState]) time.Duration {
			return time.Duration(e.Value.ttl) * time.Millisecond
		}),
	}
	if o.customClock {
		oo.Clock = cache.Clock(o.now)
	}
	return &localLimiter{now: o.now, cache: otter.Must(oo)}
}

// Close implements Limiter: it stops the cache's clean-up goroutine.
func (l *localLimiter) Close() { l.cache.StopAllGoroutines() }

// Allow implements Limiter.
func (l *localLimiter) Allow(_ context.Context, key string, lim Limit) (Result, error) {
	if lim.Unlimited() {
		return unlimited, nil
	}
	if err := checkLimit(lim); err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256([]byte(key))
	var k [16]byte
	copy(k[:], sum[:16])
	now := l.now().UnixMilli()
	var res Result
	l.cache.Compute(k, func(old localState, found bool) (localState, otter.ComputeOp) {
		var next int64
		res, next = gcra(now, old.tat, lim)
		if !res.Allowed {
			return old, otter.CancelOp
		}
		return localState{tat: next, ttl: next - now}, otter.WriteOp
	})
	return res, nil
}
