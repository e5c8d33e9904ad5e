package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"atrium/internal/fault"
)

// Scopes name what a key identifies; each has its own Limit in Config.
const (
	ScopeIP         = "ip"         // a client address (IPKey) on one public auth endpoint
	ScopeCredential = "credential" // a passkey credential ID at login finish
	ScopeInvitation = "invitation" // an enrollment invitation token
	ScopeUser       = "user"       // a signed-in user's credential management
)

// Config sets the limit of each scope. A Limit with Rate 0 turns its scope
// off.
type Config struct {
	// PerIP limits each client address (an IPv6 /64) on each public auth
	// endpoint separately: login and enrollment options and finish, token
	// exchange.
	PerIP Limit
	// PerCredential limits login attempts naming one credential, whatever
	// their address: it slows an attacker spread over many addresses.
	PerCredential Limit
	// PerInvitation limits uses of one invitation token (enrollment options
	// and finish).
	PerInvitation Limit
	// PerUser limits a signed-in user's device and invitation management
	// (adding devices, issuing invitations).
	PerUser Limit
}

// DefaultConfig returns the defaults: generous for people, tight for
// scripts. A person signs in with two requests (options, finish).
func DefaultConfig() Config {
	return Config{
		PerIP:         PerMinute(30, 10),
		PerCredential: PerMinute(10, 5),
		PerInvitation: PerHour(10, 5),
		PerUser:       PerMinute(30, 10),
	}
}

// Validate reports every invalid limit.
func (c Config) Validate() error {
	var errs []error
	for scope, l := range c.limits() {
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rate limit %s: %w", scope, err))
		}
	}
	return errors.Join(errs...)
}

func (c Config) limits() map[string]Limit {
	return map[string]Limit{
		ScopeIP:         c.PerIP,
		ScopeCredential: c.PerCredential,
		ScopeInvitation: c.PerInvitation,
		ScopeUser:       c.PerUser,
	}
}

// Policy applies Config's limits; the HTTP server and services call it.
type Policy struct {
	limiter Limiter
	limits  map[string]Limit
	log     *slog.Logger
}

// NewPolicy returns a policy applying cfg with limiter.
func NewPolicy(cfg Config, limiter Limiter, log *slog.Logger) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Policy{limiter: limiter, limits: cfg.limits(), log: log}, nil
}

// ErrorMessage is the client-safe message of a rate-limited request.
const ErrorMessage = "too many requests; retry later"

// Check counts one request of key in scope. It returns nil when allowed, a
// *fault.Error with code RateLimited and RetryAfter when denied, an
// Unavailable one when the limiter cannot answer, and an Internal one for an
// unknown scope. The key may be personal data: only its hash is stored or
// logged.
func (p *Policy) Check(ctx context.Context, scope, key string) error {
	l, ok := p.limits[scope]
	if !ok {
		return fault.Wrap(fmt.Errorf("ratelimit: unknown scope %q", scope), fault.Internal, "internal error")
	}
	if l.Unlimited() {
		return nil
	}
	res, err := p.limiter.Allow(ctx, scope+":"+key, l)
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, "rate limiting is unavailable; retry later")
	}
	if res.Allowed {
		return nil
	}
	p.log.DebugContext(ctx, "ratelimit: denied", "scope", scope, "key_hash", HashKey(scope+":"+key), "retry_after", res.RetryAfter)
	return &fault.Error{
		Code:       fault.RateLimited,
		Message:    ErrorMessage,
		RetryAfter: max(res.RetryAfter, time.Millisecond),
	}
}

// CheckClientIP counts one request to a public endpoint (an operation
// name, e.g. "loginFinish") from the client address in ctx (WithClientIP),
// each endpoint with its own allowance.
func (p *Policy) CheckClientIP(ctx context.Context, endpoint string) error {
	return p.Check(ctx, ScopeIP, endpoint+"|"+IPKey(ClientIPFrom(ctx)))
}

// New returns the limiter Atrium runs with: Redis, with the in-process
// limiter while Redis fails, when rdb is set; the in-process limiter alone
// (one instance) when rdb is nil. Options go to every part.
func New(rdb redis.UniversalClient, log *slog.Logger, opts ...Option) Limiter {
	if rdb == nil {
		return NewLocal(opts...)
	}
	return NewFallback(NewRedis(rdb, opts...), NewLocal(opts...), log, opts...)
}
