// Package config reads Atrium's typed configuration from ATRIUM_* environment
// variables and validates it once, at start.
package config

import (
	"errors"
	"net/netip"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/trace"

	"atrium/internal/ratelimit"
)

// Config is everything Atrium can be told from outside.
type Config struct {
	HTTPAddr    string // ATRIUM_HTTP_ADDR
	DataDir     string // ATRIUM_DATA_DIR
	DatabaseURL string // ATRIUM_DATABASE_URL
	RedisURL    string // ATRIUM_REDIS_URL
	// PostgreSQL connection pool (ATRIUM_DB_*); see docs/configuration.md.
	DBMaxConns        int              // ATRIUM_DB_MAX_CONNS
	DBMaxIdleConns    int              // ATRIUM_DB_MAX_IDLE_CONNS
	DBConnMaxLifetime time.Duration    // ATRIUM_DB_CONN_MAX_LIFETIME
	DBConnMaxIdleTime time.Duration    // ATRIUM_DB_CONN_MAX_IDLE_TIME
	DBAcquireTimeout  time.Duration    // ATRIUM_DB_ACQUIRE_TIMEOUT
	DBLockTimeout     time.Duration    // ATRIUM_DB_LOCK_TIMEOUT
	PublicURL         string           // ATRIUM_PUBLIC_URL
	KeyEncryptionKey  []byte           // ATRIUM_KEY_ENCRYPTION_KEY (base64, 32 bytes)
	AutoMigrate       bool             // ATRIUM_AUTO_MIGRATE
	LogLevel          string           // ATRIUM_LOG_LEVEL
	LogFormat         string           // ATRIUM_LOG_FORMAT
	Issuer            string           // ATRIUM_TOKEN_ISSUER
	Audience          string           // ATRIUM_TOKEN_AUDIENCE
	AccessTokenTTL    time.Duration    // ATRIUM_ACCESS_TOKEN_TTL
	KeyRotation       time.Duration    // ATRIUM_KEY_ROTATION_PERIOD
	MaxBodyBytes      int64            // ATRIUM_MAX_BODY_BYTES
	ShutdownTimeout   time.Duration    // ATRIUM_SHUTDOWN_TIMEOUT
	WebAuthnOrigins   []string         // ATRIUM_WEBAUTHN_ORIGINS
	DocumentMaxBytes  int              // ATRIUM_DOCUMENT_MAX_BYTES
	DegradedCacheTTL  time.Duration    // ATRIUM_DEGRADED_CACHE_TTL
	MetricsAddr       string           // ATRIUM_METRICS_ADDR
	MetricsOnAPI      bool             // ATRIUM_METRICS_ON_API
	LLMBaseURL        string           // ATRIUM_LLM_BASE_URL
	LLMAPIKey         string           // ATRIUM_LLM_API_KEY
	LLMModels         []string         // ATRIUM_LLM_MODELS
	LLMTimeout        time.Duration    // ATRIUM_LLM_TIMEOUT
	LLMMonthlyTokens  int              // ATRIUM_LLM_MONTHLY_TOKENS
	SessionIdle       time.Duration    // ATRIUM_SESSION_IDLE_TIMEOUT
	SessionMaxAge     time.Duration    // ATRIUM_SESSION_MAX_AGE
	RateLimit         ratelimit.Config // ATRIUM_RATE_LIMIT_*
	TrustedProxies    []netip.Prefix   // ATRIUM_TRUSTED_PROXIES

	// Clock is not read from the environment: tests set it to move time
	// (sessions, refresh tokens, ceremonies) instead of sleeping. Nil is
	// time.Now.
	Clock func() time.Time
	// AfterFunc is not read from the environment either: it starts the LLM
	// provider's timeout timers, so tests fire a timeout instead of waiting
	// for it. Nil is time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) interface {
		Reset(d time.Duration) bool
		Stop() bool
	}
	// TracerProvider is not read from the environment either: nil builds the
	// one the standard OTEL_* variables ask for (internal/telemetry); tests
	// set one that records in memory.
	TracerProvider trace.TracerProvider
}

// IsPostgres reports whether the database is PostgreSQL.
func (c *Config) IsPostgres() bool { return c.DatabaseURL != "" }

// SQLitePath is the embedded database file.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "atrium.db") }

// ErrKEKRequired is returned by CheckKEK.
var ErrKEKRequired = errors.New("ATRIUM_KEY_ENCRYPTION_KEY: required with PostgreSQL (openssl rand -base64 32)")

// CheckKEK reports whether the key-encryption key is configured where it must
// be: with PostgreSQL, several instances share the signing keys, so the key
// cannot live in one instance's data dir. Commands that touch signing keys
// (serve, keys) call it; migrations do not need the key.
func (c *Config) CheckKEK() error {
	if c.IsPostgres() && len(c.KeyEncryptionKey) == 0 {
		return ErrKEKRequired
	}
	return nil
}

// CheckServe reports what only the server needs beyond Load: the
// key-encryption key with PostgreSQL, and HTTPS for every origin a browser
// uses unless it is this machine (plain http elsewhere leaks sessions and
// breaks passkeys). `atrium audit security` loads such a configuration to
// report on it, so Load itself accepts it.
func (c *Config) CheckServe() error {
	errs := []error{c.CheckKEK()}
	if !secureOrigin(c.PublicURL) {
		errs = append(errs, errors.New("ATRIUM_PUBLIC_URL: http:// only for localhost; use https://"))
	}
	for _, o := range c.WebAuthnOrigins {
		if !secureOrigin(o) {
			errs = append(errs, errors.New("ATRIUM_WEBAUTHN_ORIGINS: "+o+": http:// only for localhost; use https://"))
		}
	}
	return errors.Join(errs...)
}
