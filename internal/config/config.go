// Package config reads Atrium's typed configuration from ATRIUM_* environment
// variables and validates it once, at start.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
}

// Var documents one environment variable.
type Var struct {
	Name, Default, Help string
}

// Vars lists every variable Atrium reads, for `atrium serve --help` and docs.
var Vars = []Var{
	{"ATRIUM_HTTP_ADDR", "127.0.0.1:8080", "address the HTTP server listens on"},
	{"ATRIUM_DATA_DIR", "./data", "directory for the embedded default's files (SQLite database, generated key-encryption key)"},
	{"ATRIUM_DATABASE_URL", "", "empty = SQLite in the data dir; postgres://user@host:5432/db = PostgreSQL via pgx"},
	{"ATRIUM_REDIS_URL", "", "empty = in-process cache and bus (one instance only); redis://host:6379/0 = shared Redis"},
	{"ATRIUM_DB_MAX_CONNS", "32", "PostgreSQL connections this instance may open; keep instances x this below the server's max_connections (or use PgBouncer)"},
	{"ATRIUM_DB_MAX_IDLE_CONNS", "32", "idle PostgreSQL connections kept open (at most ATRIUM_DB_MAX_CONNS)"},
	{"ATRIUM_DB_CONN_MAX_LIFETIME", "30m", "a PostgreSQL connection is replaced after this long (spreads load after a failover)"},
	{"ATRIUM_DB_CONN_MAX_IDLE_TIME", "5m", "an idle PostgreSQL connection is closed after this long"},
	{"ATRIUM_DB_ACQUIRE_TIMEOUT", "2s", "longest a request waits for a free PostgreSQL connection; after it, 503 with Retry-After"},
	{"ATRIUM_PUBLIC_URL", "http://localhost:8080", "origin users see; token issuer and WebAuthn origin derive from it"},
	{"ATRIUM_KEY_ENCRYPTION_KEY", "", "base64 of 32 random bytes encrypting signing keys at rest; generated into the data dir on the embedded default, required with PostgreSQL"},
	{"ATRIUM_AUTO_MIGRATE", "true on SQLite, false on PostgreSQL", "apply pending migrations at start"},
	{"ATRIUM_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"ATRIUM_LOG_FORMAT", "json", "json or text"},
	{"ATRIUM_TOKEN_ISSUER", "ATRIUM_PUBLIC_URL", "iss claim of access tokens"},
	{"ATRIUM_TOKEN_AUDIENCE", "atrium", "aud claim of access tokens"},
	{"ATRIUM_ACCESS_TOKEN_TTL", "10m", "lifetime of access tokens"},
	{"ATRIUM_KEY_ROTATION_PERIOD", "720h", "age after which `atrium keys rotate` is due"},
	{"ATRIUM_MAX_BODY_BYTES", "1048576", "largest request body accepted"},
	{"ATRIUM_SHUTDOWN_TIMEOUT", "20s", "how long graceful shutdown waits for requests in flight"},
	{"ATRIUM_DEGRADED_CACHE_TTL", "2s", "while Redis is unreachable, the longest a cached permission or session answer is used"},
	{"ATRIUM_METRICS_ADDR", "", "address of a separate listener serving Prometheus metrics at /metrics (empty = none)"},
	{"ATRIUM_METRICS_ON_API", "false", "also serve /metrics on the API listener (only behind a proxy that hides it)"},
	{"ATRIUM_LLM_BASE_URL", "", "OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp server), e.g. http://localhost:11434/v1; empty = only the offline echo model"},
	{"ATRIUM_LLM_API_KEY", "", "bearer key for ATRIUM_LLM_BASE_URL (never logged)"},
	{"ATRIUM_LLM_MODELS", "", "comma-separated models to offer from ATRIUM_LLM_BASE_URL (empty = ask its /models at start)"},
	{"ATRIUM_LLM_TIMEOUT", "60s", "how long to wait for the model provider (504 after)"},
	{"ATRIUM_LLM_MONTHLY_TOKENS", "0", "tokens each tenant may use per calendar month (0 = unlimited; 429 after)"},
	{"ATRIUM_DOCUMENT_MAX_BYTES", "262144", "largest document content in bytes (keep it below ATRIUM_MAX_BODY_BYTES)"},
	{"ATRIUM_SESSION_IDLE_TIMEOUT", "336h", "a session ends after this long without use (14 days)"},
	{"ATRIUM_SESSION_MAX_AGE", "2160h", "a session ends this long after sign-in, whatever the use (90 days)"},
	{"ATRIUM_RATE_LIMIT_IP_PER_MINUTE", "30", "requests per minute per client address to each public auth endpoint (0 = off)"},
	{"ATRIUM_RATE_LIMIT_IP_BURST", "10", "burst of the per-address limit"},
	{"ATRIUM_RATE_LIMIT_CREDENTIAL_PER_MINUTE", "10", "sign-in attempts per minute per passkey (0 = off)"},
	{"ATRIUM_RATE_LIMIT_CREDENTIAL_BURST", "5", "burst of the per-passkey limit"},
	{"ATRIUM_RATE_LIMIT_INVITATION_PER_HOUR", "10", "enrollment attempts per hour per invitation (0 = off)"},
	{"ATRIUM_RATE_LIMIT_INVITATION_BURST", "5", "burst of the per-invitation limit"},
	{"ATRIUM_RATE_LIMIT_USER_PER_MINUTE", "30", "device additions and invitations per minute per user (0 = off)"},
	{"ATRIUM_RATE_LIMIT_USER_BURST", "10", "burst of the per-user limit"},
	{"ATRIUM_TRUSTED_PROXIES", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (empty = none: the TCP peer is the client)"},
	{"ATRIUM_WEBAUTHN_ORIGINS", "", "comma-separated extra origins allowed in passkey ceremonies (the public URL's origin always is); the RP ID is the public URL's host"},
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

// FromEnv reads the configuration from the process environment.
func FromEnv() (*Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv and validates it, reporting every
// problem at once.
func Load(getenv func(string) string) (*Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	dur := func(name, def string) time.Duration {
		d, err := time.ParseDuration(get(name, def))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive duration like 10m", name))
		}
		return d
	}
	c := &Config{
		HTTPAddr:         get("ATRIUM_HTTP_ADDR", "127.0.0.1:8080"),
		DataDir:          get("ATRIUM_DATA_DIR", "./data"),
		DatabaseURL:      get("ATRIUM_DATABASE_URL", ""),
		RedisURL:         get("ATRIUM_REDIS_URL", ""),
		PublicURL:        strings.TrimRight(get("ATRIUM_PUBLIC_URL", "http://localhost:8080"), "/"),
		LogLevel:         get("ATRIUM_LOG_LEVEL", "info"),
		LogFormat:        get("ATRIUM_LOG_FORMAT", "json"),
		Audience:         get("ATRIUM_TOKEN_AUDIENCE", "atrium"),
		AccessTokenTTL:   dur("ATRIUM_ACCESS_TOKEN_TTL", "10m"),
		KeyRotation:      dur("ATRIUM_KEY_ROTATION_PERIOD", "720h"),
		ShutdownTimeout:  dur("ATRIUM_SHUTDOWN_TIMEOUT", "20s"),
		SessionIdle:      dur("ATRIUM_SESSION_IDLE_TIMEOUT", "336h"),
		DegradedCacheTTL: dur("ATRIUM_DEGRADED_CACHE_TTL", "2s"),
		MetricsAddr:      get("ATRIUM_METRICS_ADDR", ""),
		LLMBaseURL:       get("ATRIUM_LLM_BASE_URL", ""),
		LLMAPIKey:        get("ATRIUM_LLM_API_KEY", ""),
		LLMTimeout:       dur("ATRIUM_LLM_TIMEOUT", "60s"),
		SessionMaxAge:    dur("ATRIUM_SESSION_MAX_AGE", "2160h"),
	}
	if c.SessionIdle > c.SessionMaxAge {
		errs = append(errs, errors.New("ATRIUM_SESSION_IDLE_TIMEOUT: must not exceed ATRIUM_SESSION_MAX_AGE"))
	}
	c.Issuer = get("ATRIUM_TOKEN_ISSUER", c.PublicURL)
	for _, o := range strings.Split(get("ATRIUM_WEBAUTHN_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("ATRIUM_WEBAUTHN_ORIGINS: %q is not an origin like https://app.example.com", o))
			continue
		}
		c.WebAuthnOrigins = append(c.WebAuthnOrigins, strings.TrimRight(o, "/"))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("ATRIUM_PUBLIC_URL: want an absolute http(s) URL such as https://atrium.example.com"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("ATRIUM_DATABASE_URL: want empty (embedded SQLite) or a postgres:// URL"))
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		errs = append(errs, errors.New("ATRIUM_REDIS_URL: want empty (in-process) or a redis:// or rediss:// URL"))
	}
	switch v := get("ATRIUM_AUTO_MIGRATE", ""); v {
	case "":
		c.AutoMigrate = !c.IsPostgres()
	default:
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, errors.New("ATRIUM_AUTO_MIGRATE: want true or false"))
		}
		c.AutoMigrate = b
	}
	if k := get("ATRIUM_KEY_ENCRYPTION_KEY", ""); k != "" {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 32 {
			errs = append(errs, errors.New("ATRIUM_KEY_ENCRYPTION_KEY: want base64 of exactly 32 bytes (openssl rand -base64 32)"))
		}
		c.KeyEncryptionKey = b
	}
	if n, err := strconv.ParseInt(get("ATRIUM_MAX_BODY_BYTES", "1048576"), 10, 64); err != nil || n < 1024 {
		errs = append(errs, errors.New("ATRIUM_MAX_BODY_BYTES: want a whole number of bytes, at least 1024"))
	} else {
		c.MaxBodyBytes = n
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("ATRIUM_LOG_LEVEL: want debug, info, warn or error"))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, errors.New("ATRIUM_LOG_FORMAT: want json or text"))
	}
	num := func(name, def string) int {
		n, err := strconv.Atoi(get(name, def))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: want a whole number, 0 or more", name))
		}
		return n
	}
	c.DocumentMaxBytes = num("ATRIUM_DOCUMENT_MAX_BYTES", "262144")
	c.DBMaxConns = num("ATRIUM_DB_MAX_CONNS", "32")
	if c.DBMaxConns < 1 {
		errs = append(errs, errors.New("ATRIUM_DB_MAX_CONNS: want at least 1"))
	}
	c.DBMaxIdleConns = num("ATRIUM_DB_MAX_IDLE_CONNS", "32")
	c.DBConnMaxLifetime = dur("ATRIUM_DB_CONN_MAX_LIFETIME", "30m")
	c.DBConnMaxIdleTime = dur("ATRIUM_DB_CONN_MAX_IDLE_TIME", "5m")
	c.DBAcquireTimeout = dur("ATRIUM_DB_ACQUIRE_TIMEOUT", "2s")
	c.LLMMonthlyTokens = num("ATRIUM_LLM_MONTHLY_TOKENS", "0")
	for _, m := range strings.Split(get("ATRIUM_LLM_MODELS", ""), ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.LLMModels = append(c.LLMModels, m)
		}
	}
	if b, err := strconv.ParseBool(get("ATRIUM_METRICS_ON_API", "false")); err != nil {
		errs = append(errs, errors.New("ATRIUM_METRICS_ON_API: want true or false"))
	} else {
		c.MetricsOnAPI = b
	}
	c.RateLimit = ratelimit.Config{
		PerIP:         ratelimit.PerMinute(num("ATRIUM_RATE_LIMIT_IP_PER_MINUTE", "30"), num("ATRIUM_RATE_LIMIT_IP_BURST", "10")),
		PerCredential: ratelimit.PerMinute(num("ATRIUM_RATE_LIMIT_CREDENTIAL_PER_MINUTE", "10"), num("ATRIUM_RATE_LIMIT_CREDENTIAL_BURST", "5")),
		PerInvitation: ratelimit.PerHour(num("ATRIUM_RATE_LIMIT_INVITATION_PER_HOUR", "10"), num("ATRIUM_RATE_LIMIT_INVITATION_BURST", "5")),
		PerUser:       ratelimit.PerMinute(num("ATRIUM_RATE_LIMIT_USER_PER_MINUTE", "30"), num("ATRIUM_RATE_LIMIT_USER_BURST", "10")),
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("ATRIUM_RATE_LIMIT_*: %w", err))
	}
	if tp, err := ratelimit.ParseTrustedProxies(get("ATRIUM_TRUSTED_PROXIES", "")); err != nil {
		errs = append(errs, fmt.Errorf("ATRIUM_TRUSTED_PROXIES: %w", err))
	} else {
		c.TrustedProxies = tp
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}
