package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Fallback asks a primary limiter (Redis) and, while the primary fails,
// answers from a fallback (in-process) limiter.
//
// Failing open would let an attacker lift every limit by knocking Redis
// over; failing closed would lock everyone out. The in-process limiter is
// the middle: limits still hold, per instance instead of across instances.
//
// After a primary error, Fallback stops asking the primary for the probe
// interval (so requests do not each wait for a dead Redis), then lets one
// request probe it. It logs once when it degrades and once when it recovers.
type Fallback struct {
	primary, fallback Limiter
	log               *slog.Logger
	now               func() time.Time
	probeInterval     time.Duration

	degraded  atomic.Bool
	nextProbe atomic.Int64 // unix ns; while degraded, the primary is skipped before it
}

// NewFallback returns a limiter that uses primary and, while primary
// errors, fallback. It reads WithProbeInterval and WithClock.
func NewFallback(primary, fallback Limiter, log *slog.Logger, opts ...Option) *Fallback {
	o := newOptions(opts)
	if log == nil {
		log = slog.Default()
	}
	return &Fallback{primary: primary, fallback: fallback, log: log, now: o.now, probeInterval: o.probeInterval}
}

// Degraded reports whether the primary is failing and answers come from the
// fallback (for health and readiness reports).
func (f *Fallback) Degraded() bool { return f.degraded.Load() }

// Close implements Limiter: it closes both limiters.
func (f *Fallback) Close() {
	f.primary.Close()
	f.fallback.Close()
}

// Allow implements Limiter.
func (f *Fallback) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if f.degraded.Load() {
		probe := f.nextProbe.Load()
		now := f.now().UnixNano()
		// One caller per interval wins the probe; the others stay local.
		if now < probe || !f.nextProbe.CompareAndSwap(probe, now+int64(f.probeInterval)) {
			return f.fallback.Allow(ctx, key, l)
		}
	}
	res, err := f.primary.Allow(ctx, key, l)
	if err == nil {
		if f.degraded.CompareAndSwap(true, false) {
			f.log.Info("ratelimit: primary limiter recovered; limits are shared across instances again")
		}
		return res, nil
	}
	if ctx.Err() != nil {
		// The caller gave up; that says nothing about the primary.
		return Result{}, ctx.Err()
	}
	if errors.Is(err, ErrInvalidLimit) {
		return Result{}, err
	}
	f.nextProbe.Store(f.now().UnixNano() + int64(f.probeInterval))
	if f.degraded.CompareAndSwap(false, true) {
		f.log.Warn("ratelimit: primary limiter failing; limiting per instance until it recovers",
			"err", err, "retry_every", f.probeInterval)
	}
	return f.fallback.Allow(ctx, key, l)
}
