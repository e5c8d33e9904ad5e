package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"atrium/internal/ratelimit"
)

//go:generate go run ./internal/gendoc ../../docs/configuration.md

// Var declares one environment variable: its name, default, help and how it
// is parsed. Vars is the only place a variable is declared: Load, `atrium
// serve --help` and the table in docs/configuration.md (go generate) all read
// it.
type Var struct {
	Name string
	// Default is used when the variable is unset or blank. Derived defaults
	// (computed from other variables after parsing) leave it empty and set
	// DefaultDoc instead.
	Default string
	// DefaultDoc describes a derived default for people.
	DefaultDoc string
	Help       string
	parse      func(l *loader, v string) error
}

// Shown is the default as people read it.
func (v Var) Shown() string {
	switch {
	case v.DefaultDoc != "":
		return v.DefaultDoc
	case v.Default == "":
		return "empty"
	default:
		return v.Default
	}
}

// loader is the state of one Load: the config being filled and values that
// are combined after every variable is read.
type loader struct {
	c         *Config
	rate      [8]int // ATRIUM_RATE_LIMIT_*, in Vars order
	autoMigr  string
	issuer    string
	publicURL string
	idleSet   bool // ATRIUM_DB_MAX_IDLE_CONNS was set
}

var errPositiveDuration = errors.New("want a positive duration like 10m")

func str(f func(*Config) *string) func(*loader, string) error {
	return func(l *loader, v string) error { *f(l.c) = v; return nil }
}

func dur(f func(*Config) *time.Duration) func(*loader, string) error {
	return func(l *loader, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errPositiveDuration
		}
		*f(l.c) = d
		return nil
	}
}

func atLeast(min int, f func(*loader) *int) func(*loader, string) error {
	return func(l *loader, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("want a whole number, %d or more", min)
		}
		*f(l) = n
		return nil
	}
}

func num(f func(*Config) *int) func(*loader, string) error {
	return atLeast(0, func(l *loader) *int { return f(l.c) })
}

func rate(i int) func(*loader, string) error {
	return atLeast(0, func(l *loader) *int { return &l.rate[i] })
}

func boolean(f func(*Config) *bool) func(*loader, string) error {
	return func(l *loader, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*f(l.c) = b
		return nil
	}
}

func oneOf(f func(*Config) *string, allowed ...string) func(*loader, string) error {
	return func(l *loader, v string) error {
		for _, a := range allowed {
			if v == a {
				*f(l.c) = v
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// listenAddr accepts host:port with a numeric port (host may be empty).
func listenAddr(f func(*Config) *string) func(*loader, string) error {
	return func(l *loader, v string) error {
		_, port, err := net.SplitHostPort(v)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%q is not a listen address like 127.0.0.1:8080 or :8080", v)
		}
		*f(l.c) = v
		return nil
	}
}

// Vars lists every variable Atrium reads.
var Vars = []Var{
	{Name: "ATRIUM_HTTP_ADDR", Default: "127.0.0.1:8080", Help: "address the HTTP server listens on",
		parse: listenAddr(func(c *Config) *string { return &c.HTTPAddr })},
	{Name: "ATRIUM_DATA_DIR", Default: "./data", Help: "files of the embedded default: `atrium.db` (SQLite) and `kek` (generated key-encryption key)",
		parse: str(func(c *Config) *string { return &c.DataDir })},
	{Name: "ATRIUM_DATABASE_URL", Help: "empty = SQLite in the data dir; `postgres://user@host:5432/db?sslmode=…` = PostgreSQL via pgx. The role must be the tables' owner for `atrium migrate`, and for `atrium serve` a member of `atrium_app` (the owner is, after the first apply): the server's queries run as `atrium_app` under row-level security — see [security.md](security.md#row-level-security-postgresql)",
		parse: func(l *loader, v string) error {
			if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
				return errors.New("want empty (embedded SQLite) or a postgres:// URL")
			}
			if _, err := pgx.ParseConfig(v); err != nil {
				return errors.New("not a valid PostgreSQL URL (check its user, host, port and parameters)")
			}
			l.c.DatabaseURL = v
			return nil
		}},
	{Name: "ATRIUM_REDIS_URL", Help: "empty = in-process cache and invalidation bus (one instance only); `redis://host:6379/0` = shared Redis, required for more than one instance",
		parse: func(l *loader, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
				return errors.New("want empty (in-process) or a redis:// or rediss:// URL")
			}
			l.c.RedisURL = v
			return nil
		}},
	{Name: "ATRIUM_DB_MAX_CONNS", DefaultDoc: "2 × CPUs + 2 (`6` on 2 cores)", Help: "PostgreSQL connections one instance may open; see [Connection pool](#connection-pool)",
		parse: atLeast(1, func(l *loader) *int { return &l.c.DBMaxConns })},
	{Name: "ATRIUM_DB_MAX_IDLE_CONNS", DefaultDoc: "`ATRIUM_DB_MAX_CONNS`", Help: "idle PostgreSQL connections kept open (capped at `ATRIUM_DB_MAX_CONNS`)",
		parse: func(l *loader, v string) error {
			l.idleSet = true
			return num(func(c *Config) *int { return &c.DBMaxIdleConns })(l, v)
		}},
	{Name: "ATRIUM_DB_CONN_MAX_LIFETIME", Default: "30m", Help: "a connection is replaced after this long (new connections spread over replicas after a failover)",
		parse: dur(func(c *Config) *time.Duration { return &c.DBConnMaxLifetime })},
	{Name: "ATRIUM_DB_CONN_MAX_IDLE_TIME", Default: "5m", Help: "an idle connection is closed after this long",
		parse: dur(func(c *Config) *time.Duration { return &c.DBConnMaxIdleTime })},
	{Name: "ATRIUM_DB_ACQUIRE_TIMEOUT", Default: "2s", Help: "longest a request waits for a free connection when all are busy; then `503` with `Retry-After` instead of an unbounded queue",
		parse: dur(func(c *Config) *time.Duration { return &c.DBAcquireTimeout })},
	{Name: "ATRIUM_DB_LOCK_TIMEOUT", Default: "5s", Help: "PostgreSQL: longest a request's statement waits for a lock (a row, a tenant's audit chain) another transaction holds; then `503` with `Retry-After` instead of waiting as long as that transaction lives. `0` leaves PostgreSQL's `lock_timeout`. Migrations are not affected",
		parse: dur(func(c *Config) *time.Duration { return &c.DBLockTimeout })},
	{Name: "ATRIUM_PUBLIC_URL", DefaultDoc: "`http://localhost:<port of ATRIUM_HTTP_ADDR>`", Help: "the origin users see (enrollment links, token issuer, WebAuthn origin; its host is the RP ID). `http://` only for localhost; `atrium serve` refuses any other",
		parse: func(l *loader, v string) error { l.publicURL = v; return nil }},
	{Name: "ATRIUM_KEY_ENCRYPTION_KEY", Help: "base64 of 32 random bytes (`openssl rand -base64 32`) encrypting signing keys at rest (AES-256-GCM). On the embedded default, when empty, one is generated into `<data dir>/kek` (mode 0600) with a warning. Required with PostgreSQL",
		parse: func(l *loader, v string) error {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(b) != 32 {
				return errors.New("want base64 of exactly 32 bytes (openssl rand -base64 32)")
			}
			l.c.KeyEncryptionKey = b
			return nil
		}},
	{Name: "ATRIUM_AUTO_MIGRATE", DefaultDoc: "`true` on SQLite, `false` on PostgreSQL", Help: "apply pending migrations at start. When false and the schema is behind, `serve` refuses to start and says to run `atrium migrate apply`",
		parse: func(l *loader, v string) error {
			if _, err := strconv.ParseBool(v); err != nil {
				return errors.New("want true or false")
			}
			l.autoMigr = v
			return nil
		}},
	{Name: "ATRIUM_LOG_LEVEL", Default: "info", Help: "`debug`, `info`, `warn` or `error`",
		parse: oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
	{Name: "ATRIUM_LOG_FORMAT", Default: "json", Help: "`json` or `text` (log/slog)",
		parse: oneOf(func(c *Config) *string { return &c.LogFormat }, "json", "text")},
	{Name: "ATRIUM_TOKEN_ISSUER", DefaultDoc: "`ATRIUM_PUBLIC_URL`", Help: "`iss` of access tokens",
		parse: func(l *loader, v string) error { l.issuer = v; return nil }},
	{Name: "ATRIUM_TOKEN_AUDIENCE", Default: "atrium", Help: "`aud` of access tokens",
		parse: str(func(c *Config) *string { return &c.Audience })},
	{Name: "ATRIUM_ACCESS_TOKEN_TTL", Default: "10m", Help: "access-token lifetime",
		parse: dur(func(c *Config) *time.Duration { return &c.AccessTokenTTL })},
	{Name: "ATRIUM_KEY_ROTATION_PERIOD", Default: "720h", Help: "age after which `atrium keys rotate` is due",
		parse: dur(func(c *Config) *time.Duration { return &c.KeyRotation })},
	{Name: "ATRIUM_MAX_BODY_BYTES", Default: "1048576", Help: "largest request body; larger bodies get 413",
		parse: func(l *loader, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return errors.New("want a whole number of bytes, at least 1024")
			}
			l.c.MaxBodyBytes = n
			return nil
		}},
	{Name: "ATRIUM_SHUTDOWN_TIMEOUT", Default: "20s", Help: "graceful-shutdown wait for requests in flight",
		parse: dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Name: "ATRIUM_WEBAUTHN_ORIGINS", Help: "more origins allowed in passkey ceremonies, comma-separated; the public URL's origin always is. `http://` only for localhost",
		parse: func(l *loader, v string) error {
			var bad []string
			for _, o := range list(v) {
				if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimRight(u.Path, "/") != "" {
					bad = append(bad, fmt.Sprintf("%q is not an origin like https://app.example.com", o))
					continue
				}
				l.c.WebAuthnOrigins = append(l.c.WebAuthnOrigins, strings.TrimRight(o, "/"))
			}
			if bad != nil {
				return errors.New(strings.Join(bad, "; "))
			}
			return nil
		}},
	{Name: "ATRIUM_SESSION_IDLE_TIMEOUT", Default: "336h", Help: "a session ends after this long without use (14 days); at most `ATRIUM_SESSION_MAX_AGE`",
		parse: dur(func(c *Config) *time.Duration { return &c.SessionIdle })},
	{Name: "ATRIUM_SESSION_MAX_AGE", Default: "2160h", Help: "a session ends this long after sign-in, whatever the use (90 days)",
		parse: dur(func(c *Config) *time.Duration { return &c.SessionMaxAge })},
	{Name: "ATRIUM_DOCUMENT_MAX_BYTES", Default: "262144", Help: "largest document content in bytes (keep it below `ATRIUM_MAX_BODY_BYTES`)",
		parse: num(func(c *Config) *int { return &c.DocumentMaxBytes })},
	{Name: "ATRIUM_LLM_BASE_URL", Help: "OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp server), e.g. `http://localhost:11434/v1`; empty = only the offline `echo-1` model; see [llm.md](llm.md)",
		parse: str(func(c *Config) *string { return &c.LLMBaseURL })},
	{Name: "ATRIUM_LLM_API_KEY", Help: "bearer key for `ATRIUM_LLM_BASE_URL` (never logged)",
		parse: str(func(c *Config) *string { return &c.LLMAPIKey })},
	{Name: "ATRIUM_LLM_MODELS", Help: "comma-separated models to offer from `ATRIUM_LLM_BASE_URL` (empty = ask its `/models` at start)",
		parse: func(l *loader, v string) error { l.c.LLMModels = list(v); return nil }},
	{Name: "ATRIUM_LLM_TIMEOUT", Default: "60s", Help: "provider wait; then 504",
		parse: dur(func(c *Config) *time.Duration { return &c.LLMTimeout })},
	{Name: "ATRIUM_LLM_MONTHLY_TOKENS", Default: "0", Help: "tokens per tenant per calendar month (0 = unlimited); then 429. A tenant admin can set the tenant's own with `PATCH /api/v1/tenant`",
		parse: num(func(c *Config) *int { return &c.LLMMonthlyTokens })},
	{Name: "ATRIUM_DEGRADED_CACHE_TTL", Default: "2s", Help: "while Redis is unreachable, the longest a cached permission, session or service account answer is used (see [authorization-caching.md](authorization-caching.md))",
		parse: dur(func(c *Config) *time.Duration { return &c.DegradedCacheTTL })},
	{Name: "ATRIUM_METRICS_ADDR", Help: "separate, private listener for Prometheus metrics at `/metrics` and the Go profiler at `/debug/pprof/`, e.g. `127.0.0.1:9090` (empty = none); see [monitoring.md](monitoring.md)",
		parse: listenAddr(func(c *Config) *string { return &c.MetricsAddr })},
	{Name: "ATRIUM_METRICS_ON_API", Default: "false", Help: "also serve `/metrics` on the API listener (only behind a proxy that hides it)",
		parse: boolean(func(c *Config) *bool { return &c.MetricsOnAPI })},
	{Name: "ATRIUM_RATE_LIMIT_IP_PER_MINUTE", Default: "30", Help: "requests per minute per client address to each public auth endpoint (0 = off)", parse: rate(0)},
	{Name: "ATRIUM_RATE_LIMIT_IP_BURST", Default: "10", Help: "burst of the per-address limit", parse: rate(1)},
	{Name: "ATRIUM_RATE_LIMIT_CREDENTIAL_PER_MINUTE", Default: "10", Help: "sign-in attempts per minute per passkey (0 = off)", parse: rate(2)},
	{Name: "ATRIUM_RATE_LIMIT_CREDENTIAL_BURST", Default: "5", Help: "burst of the per-passkey limit", parse: rate(3)},
	{Name: "ATRIUM_RATE_LIMIT_INVITATION_PER_HOUR", Default: "10", Help: "enrollment attempts per hour per invitation (0 = off)", parse: rate(4)},
	{Name: "ATRIUM_RATE_LIMIT_INVITATION_BURST", Default: "5", Help: "burst of the per-invitation limit", parse: rate(5)},
	{Name: "ATRIUM_RATE_LIMIT_USER_PER_MINUTE", Default: "30", Help: "device additions and invitations per minute per user (0 = off)", parse: rate(6)},
	{Name: "ATRIUM_RATE_LIMIT_USER_BURST", Default: "10", Help: "burst of the per-user limit", parse: rate(7)},
	{Name: "ATRIUM_TRUSTED_PROXIES", Help: "comma-separated CIDRs of reverse proxies whose `X-Forwarded-For` is believed (empty = none: the TCP peer is the client); see [rate-limits.md](rate-limits.md)",
		parse: func(l *loader, v string) error {
			tp, err := ratelimit.ParseTrustedProxies(v)
			l.c.TrustedProxies = tp
			return err
		}},
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (*Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv and validates it, reporting every
// problem at once. The returned Config is never nil: with an error it holds
// what could be read, so a caller can add its own checks (CheckServe) to the
// same report.
func Load(getenv func(string) string) (*Config, error) {
	l := &loader{c: &Config{}}
	var errs []error
	for _, v := range Vars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = v.Default
		}
		if val == "" {
			continue
		}
		if err := v.parse(l, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
		}
	}
	errs = append(errs, l.derive()...)
	return l.c, errors.Join(errs...)
}

// derive fills the defaults computed from other variables and checks what
// involves more than one variable.
func (l *loader) derive() []error {
	c := l.c
	var errs []error
	c.PublicURL = strings.TrimRight(l.publicURL, "/")
	if c.PublicURL == "" {
		c.PublicURL = DefaultPublicURL(c.HTTPAddr)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("ATRIUM_PUBLIC_URL: want an absolute http(s) URL such as https://atrium.example.com"))
	}
	c.Issuer = l.issuer
	if c.Issuer == "" {
		c.Issuer = c.PublicURL
	}
	if c.DBMaxConns == 0 {
		c.DBMaxConns = defaultDBMaxConns()
	}
	if !l.idleSet {
		c.DBMaxIdleConns = c.DBMaxConns
	}
	c.AutoMigrate = !c.IsPostgres()
	if l.autoMigr != "" {
		c.AutoMigrate, _ = strconv.ParseBool(l.autoMigr)
	}
	if c.SessionIdle > c.SessionMaxAge && c.SessionMaxAge > 0 {
		errs = append(errs, errors.New("ATRIUM_SESSION_IDLE_TIMEOUT: must not exceed ATRIUM_SESSION_MAX_AGE"))
	}
	r := l.rate
	c.RateLimit = ratelimit.Config{
		PerIP:         ratelimit.PerMinute(r[0], r[1]),
		PerCredential: ratelimit.PerMinute(r[2], r[3]),
		PerInvitation: ratelimit.PerHour(r[4], r[5]),
		PerUser:       ratelimit.PerMinute(r[6], r[7]),
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("ATRIUM_RATE_LIMIT_*: %w", err))
	}
	return errs
}

// defaultDBMaxConns is ATRIUM_DB_MAX_CONNS when unset: PostgreSQL's own
// rule of thumb for a pool, about two connections per core plus one or two
// for the disk, with this instance's cores (runtime.GOMAXPROCS, which
// follows a container's CPU limit) standing in for the server's. More
// connections than the cores can run do not add throughput, they add
// waiting inside PostgreSQL, where nothing orders it: on 2 cores, 32
// connections had the list row's p99 at 23–24.5 ms and 6 at 18.6–19.7 ms
// at the same throughput (docs/performance.md).
func defaultDBMaxConns() int { return 2*runtime.GOMAXPROCS(0) + 2 }

// DefaultPublicURL is the public URL when ATRIUM_PUBLIC_URL is unset:
// http://localhost on the listen address's port, so that changing only
// ATRIUM_HTTP_ADDR keeps passkeys (whose origin must match) and enrollment
// links working on this machine.
func DefaultPublicURL(httpAddr string) string {
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil || port == "" || port == "0" {
		port = "8080"
	}
	return "http://localhost:" + port
}

// secureOrigin reports whether a browser origin may be used: https, or http
// on this machine.
func secureOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return u.Scheme == "http"
	}
	return false
}
