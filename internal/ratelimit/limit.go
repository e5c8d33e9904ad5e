// Package ratelimit limits how often a key (a client IP, a credential, an
// invitation token) may do something, with the generic cell rate algorithm
// (GCRA): a key may spend Burst requests at once and then Rate requests per
// Period, evenly spaced.
//
// The state of a key is one timestamp, the theoretical arrival time (TAT) of
// its next request, kept in Redis (NewRedis, shared by every instance) or in
// process (NewLocal). NewFallback answers from the in-process limiter while
// Redis is unreachable, so an outage neither opens the doors nor locks
// everyone out. Policy is the layer the HTTP server and the services call.
//
// Keys may be personal data. Every limiter stores and logs only a truncated
// SHA-256 of a key (HashKey), never the key itself.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Limit says how often a key may act: Rate requests per Period, of which up
// to Burst may come at once. The zero Limit means "no limit".
//
// Times are kept in whole milliseconds, so the spacing Period/Rate is rounded
// to the millisecond and is at least 1 ms (at most 1,000 requests a second
// per key, far above any limit this package is meant for).
type Limit struct {
	Rate   int           // requests per Period, after the burst is spent
	Period time.Duration // the window Rate is counted over
	Burst  int           // requests allowed at once; values below 1 count as 1
}

// PerSecond returns a limit of rate requests a second with the given burst.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Second, Burst: burst} }

// PerMinute returns a limit of rate requests a minute with the given burst.
func PerMinute(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: burst} }

// PerHour returns a limit of rate requests an hour with the given burst.
func PerHour(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Hour, Burst: burst} }

// Unlimited reports whether l does not limit (Rate 0).
func (l Limit) Unlimited() bool { return l.Rate == 0 }

// Validate reports whether l is usable: unlimited, or a positive rate over a
// positive period with a burst that is not negative.
func (l Limit) Validate() error {
	var errs []error
	if l.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %d must not be negative", l.Rate))
	}
	if l.Unlimited() {
		return errors.Join(errs...)
	}
	if l.Period <= 0 {
		errs = append(errs, fmt.Errorf("period %v must be positive", l.Period))
	}
	if l.Burst < 0 {
		errs = append(errs, fmt.Errorf("burst %d must not be negative", l.Burst))
	}
	return errors.Join(errs...)
}

// ErrInvalidLimit is returned by Allow for a Limit that fails Validate.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

func checkLimit(l Limit) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLimit, err)
	}
	return nil
}

func (l Limit) String() string {
	if l.Unlimited() {
		return "unlimited"
	}
	return fmt.Sprintf("%d per %v, burst %d", l.Rate, l.Period, l.burst())
}

func (l Limit) burst() int64 { return max(int64(l.Burst), 1) }

// interval is the spacing between requests at the sustained rate, in ms.
func (l Limit) interval() int64 {
	return max((l.Period.Milliseconds()+int64(l.Rate)/2)/int64(l.Rate), 1)
}

// Result is the outcome of one request.
type Result struct {
	Allowed    bool
	Remaining  int           // further requests allowed right now
	RetryAfter time.Duration // when denied: how long until a request would be allowed
}

// Limiter decides whether a key may make one more request under a limit.
//
// A key should be used with one Limit only; callers namespace keys (Policy
// prefixes its scope). Implementations hash the key before storing it.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Close stops what the limiter started (the in-process limiter's cache
	// goroutine). A Redis client passed in stays open: its owner closes it.
	Close()
}

// HashKey returns the form of key that limiters store and that may be logged:
// the first 128 bits of its SHA-256, in hex. It is a pseudonym, not an
// anonymisation: a short key space (IPv4 addresses) can be enumerated.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// gcra applies one request at now (ms) to a key whose theoretical arrival
// time is tat (ms; 0 for a new key). It returns the result and the new TAT;
// newTAT == tat when the request is denied. The Redis script mirrors this.
func gcra(now, tat int64, l Limit) (res Result, newTAT int64) {
	interval := l.interval()
	tolerance := interval * l.burst()
	next := max(tat, now) + interval
	diff := next - now
	if diff > tolerance {
		return Result{RetryAfter: time.Duration(diff-tolerance) * time.Millisecond}, tat
	}
	return Result{Allowed: true, Remaining: int((tolerance - diff) / interval)}, next
}

var unlimited = Result{Allowed: true, Remaining: int(^uint(0) >> 1)}

// Option configures a limiter; each names the constructors that read it.
type Option func(*options)

type options struct {
	now           func() time.Time
	customClock   bool
	maxKeys       int
	timeout       time.Duration
	probeInterval time.Duration
}

func newOptions(opts []Option) options {
	o := options{
		now:           time.Now,
		maxKeys:       100_000,
		timeout:       250 * time.Millisecond,
		probeInterval: time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithClock sets the time source of NewLocal and of NewFallback's retry
// timing (tests). The Redis limiter always uses the Redis server's clock, so
// that instances with skewed clocks agree.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now, o.customClock = now, true }
}

// WithMaxKeys bounds the keys NewLocal remembers (default 100,000, a few
// MB); n < 1 keeps the default. Past it the least useful keys are evicted,
// which forgets their state.
func WithMaxKeys(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxKeys = n
		}
	}
}

// WithProbeInterval sets how long NewFallback answers from the fallback
// after a primary error before it tries the primary again (default 1 s).
func WithProbeInterval(d time.Duration) Option { return func(o *options) { o.probeInterval = d } }
