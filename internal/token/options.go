package token

import (
	"errors"
	"log/slog"
	"time"
)

// Defaults of Options.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultLeeway      = 30 * time.Second
	DefaultReloadEvery = time.Minute
	DefaultCacheSize   = 100_000
	// MissReloadInterval is the least time between two reloads triggered by a
	// token with an unknown kid, so forged kids cannot hammer the database.
	MissReloadInterval = 10 * time.Second
	// jwksMaxAge is how long clients may cache the JWKS (Cache-Control).
	jwksMaxAge = 5 * time.Minute
)

// Options configure the KeyRing and the Service; pass the same value to both.
type Options struct {
	// Issuer and Audience are the iss and aud of issued tokens, and the only
	// values Verify accepts. Both are required.
	Issuer, Audience string
	// TTL is the lifetime of issued access tokens (default 10m).
	TTL time.Duration
	// Leeway is the clock skew tolerated on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// MaxLifetime bounds exp - iat of accepted tokens (default: the larger of
	// TTL and one hour), so a token with an absurd lifetime is refused even
	// if correctly signed.
	MaxLifetime time.Duration
	// Algorithm of newly generated keys: RS256 (default), ES256 or EdDSA.
	// Existing keys keep their own algorithm, so changing it takes effect at
	// the next rotation and old tokens keep verifying.
	Algorithm string
	// Now is the clock (default time.Now). Tests inject one with WithClock.
	Now func() time.Time
	// ReloadEvery is how often every instance calls KeyRing.Reload (Run). It
	// is part of the grace a retired key gets: another instance may go on
	// signing with a just-retired key until its next reload (default 1m).
	ReloadEvery time.Duration
	// PublishDelay is the least age of the next key before Rotate promotes
	// it, so that every instance and every client's cached JWKS already know
	// it (default: JWKS max-age 5m + ReloadEvery). Negative means no delay
	// (`atrium keys rotate --force`).
	PublishDelay time.Duration
	// CacheSize bounds the validation cache (entries; default 100,000).
	CacheSize int
	// Logger receives reload failures in Run (default slog.Default()).
	Logger *slog.Logger
}

// WithClock returns o with the clock now.
func (o Options) WithClock(now func() time.Time) Options {
	o.Now = now
	return o
}

func (o Options) withDefaults() Options {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Leeway <= 0 {
		o.Leeway = DefaultLeeway
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = max(o.TTL, time.Hour)
	}
	if o.Algorithm == "" {
		o.Algorithm = RS256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReloadEvery <= 0 {
		o.ReloadEvery = DefaultReloadEvery
	}
	if o.PublishDelay == 0 {
		o.PublishDelay = jwksMaxAge + o.ReloadEvery
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.Issuer == "" {
		errs = append(errs, errors.New("token: issuer is required"))
	}
	if o.Audience == "" {
		errs = append(errs, errors.New("token: audience is required"))
	}
	if _, err := signingMethod(o.Algorithm); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// retireGrace is how long a retired key stays verifiable: every token it
// signed must expire first, including tokens signed by instances that have
// not reloaded yet, plus clock skew.
func (o Options) retireGrace() time.Duration { return o.TTL + o.Leeway + o.ReloadEvery }
