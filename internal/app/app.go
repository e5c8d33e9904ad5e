// Package app is the composition root: configuration -> dependencies ->
// servers. It holds no business logic.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"atrium"
	"atrium/ent"

	"atrium/internal/account"
	"atrium/internal/agent"
	"atrium/internal/assistant"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/config"
	"atrium/internal/conversation"
	"atrium/internal/document"
	"atrium/internal/fault"
	"atrium/internal/httpapi"
	"atrium/internal/knowledge"
	"atrium/internal/llm"
	"atrium/internal/member"
	"atrium/internal/metrics"
	"atrium/internal/migrate"
	"atrium/internal/passkey"
	"atrium/internal/privacy"
	"atrium/internal/ratelimit"
	"atrium/internal/realtime"
	"atrium/internal/serviceaccount"
	"atrium/internal/session"
	"atrium/internal/team"
	"atrium/internal/telemetry"
	"atrium/internal/tenancy"
	"atrium/internal/token"
	"atrium/internal/viewer"
	"atrium/web"
)

// App is a wired Atrium instance.
type App struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *Database
	Redis  redis.UniversalClient // nil without ATRIUM_REDIS_URL
	Bus    cache.Bus
	Keys   *token.KeyRing
	Tokens *token.Service
	// ServiceAccounts: tenants' non-human identities (RFC 7523 assertions).
	ServiceAccounts *serviceaccount.Service
	Sessions        *session.Store
	Authz           *authz.Resolver
	Audit           *audit.Writer
	Access          *authz.Access
	Shares          *authz.Shares
	Conversations   *conversation.Service
	Accounts        *account.Service
	Passkeys        *passkey.Service
	RateLimiter     ratelimit.Limiter
	Metrics         *metrics.Metrics
	Tracing         trace.TracerProvider
	Assistant       *assistant.Service
	Realtime        *realtime.Hub
	Security        *httpapi.SecurityHandler
	Handler         http.Handler

	closers []closer
	loops   []func(context.Context) error // run by Run, stopped when it ends
}

// closer releases one thing the App built; Stop runs them in reverse order.
type closer struct {
	name  string
	close func(context.Context) error
}

// onClose registers f to run at Stop, before everything registered earlier.
func (a *App) onClose(name string, f func(context.Context) error) {
	a.closers = append(a.closers, closer{name, f})
}

// onCloseFunc registers a closer that cannot fail.
func (a *App) onCloseFunc(name string, f func()) {
	a.onClose(name, func(context.Context) error { f(); return nil })
}

// New opens the configured database, brings its schema up to date (or refuses
// an out-of-date one), and wires everything.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.CheckKEK(); err != nil {
		return nil, err
	}
	db, err := OpenDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := prepareSchema(ctx, cfg, db, log); err != nil {
		db.Close()
		return nil, err
	}
	kek, created, err := token.ResolveKEK(cfg.KeyEncryptionKey, cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(cfg.KeyEncryptionKey) == 0 {
		log.Warn("using the key-encryption key in the data dir; set ATRIUM_KEY_ENCRYPTION_KEY in production",
			"created", created)
	}
	a, err := Build(ctx, cfg, db, kek, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.onClose("database", func(context.Context) error { return db.Close() })
	return a, nil
}

func prepareSchema(ctx context.Context, cfg *config.Config, db *Database, log *slog.Logger) error {
	if cfg.AutoMigrate {
		rep, err := migrate.Apply(ctx, db.DB, db.Dialect)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		if n := len(rep.Applied); n > 0 {
			log.Info("migrations applied", "count", n)
		}
		return nil
	}
	n, err := migrate.Pending(ctx, db.DB, db.Dialect)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("the database schema is %d migration(s) behind this binary: run `atrium migrate apply` (or set ATRIUM_AUTO_MIGRATE=true) and start again", n)
	}
	return nil
}

// Build wires an App on an open, migrated database. It starts no background
// loop (Run does); on error it releases everything it built, in reverse
// order. The database stays the caller's.
func Build(ctx context.Context, cfg *config.Config, db *Database, kek []byte, log *slog.Logger) (_ *App, err error) {
	log = telemetry.Logger(log) // trace_id and span_id in every record made inside a trace
	a := &App{Config: cfg, Log: log, DB: db, Metrics: metrics.New()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	a.Tracing = cfg.TracerProvider
	if a.Tracing == nil {
		tp, shutdown, err := telemetry.NewTracerProvider(ctx, telemetry.Version())
		if err != nil {
			return nil, err
		}
		a.Tracing = tp
		a.onClose("tracing", shutdown) // flushes the spans still queued
		if telemetry.Enabled(os.Getenv) {
			log.Info("exporting traces over OTLP")
		}
	}
	a.Metrics.DBPool(db.DB)
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("ATRIUM_REDIS_URL: %w", err)
		}
		a.Redis = redis.NewClient(opts)
		a.onClose("redis", func(context.Context) error { return a.Redis.Close() })
		// Redis down at start is not fatal (issue #11): the instance starts
		// degraded, like one whose Redis failed later — the bus is unhealthy
		// and keeps reconnecting, the caches use the degraded TTL, /ready
		// says "redis":"degraded".
		var bopts cache.RedisOptions
		if err := pingRedis(ctx, a.Redis); err != nil {
			log.Warn("redis does not answer at start; starting degraded, reconnecting in the background", "err", err)
			bopts.StartWait = time.Millisecond // no subscription to wait for
		}
		rb := cache.NewRedisBus(a.Redis, log, bopts)
		a.Bus = rb
		a.onCloseFunc("cache bus", rb.Close) // before its client
	} else {
		a.Bus = cache.NewLocalBus()
	}
	a.Metrics.GaugeFunc("cache_bus_healthy",
		"1 while the cache invalidation bus works (always 1 without Redis); 0 while Redis fails and the caches run degraded.",
		func() float64 { return b2f(a.Bus.Healthy()) })

	topts := token.Options{
		Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL, Logger: log,
	}
	ring, err := token.NewKeyRing(token.NewEntStore(db.Client), kek, topts)
	if err != nil {
		return nil, err
	}
	if err := ring.EnsureActive(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	a.Keys = ring
	if a.Tokens, err = token.New(ring, topts); err != nil {
		return nil, err
	}
	a.onCloseFunc("token cache", a.Tokens.Close)
	a.loops = append(a.loops, func(ctx context.Context) error { return ring.Run(ctx, time.Minute) })
	if db.Dialect == dialect.Postgres {
		// Planner statistics when the server's autovacuum is off.
		a.loops = append(a.loops, func(ctx context.Context) error {
			return migrate.KeepStatistics(ctx, db.DB, migrate.StatisticsInterval, log)
		})
	}

	a.Audit = audit.NewWriter(db.Client, db.Dialect, log)
	appends := a.Metrics.AuditAppends()
	appendOK, appendErr := appends.WithLabelValues("ok"), appends.WithLabelValues("error")
	a.Audit.OnAppend(func(err error) {
		if err != nil {
			appendErr.Inc()
		} else {
			appendOK.Inc()
		}
	})
	sopts := []session.Option{session.WithMetrics(a.Metrics), session.WithDegradedTTL(cfg.DegradedCacheTTL)}
	if cfg.Clock != nil {
		sopts = append(sopts, session.WithClock(cfg.Clock))
	}
	a.Sessions = session.NewStore(db.Client, a.Bus, log, session.Lifetimes{Idle: cfg.SessionIdle, Absolute: cfg.SessionMaxAge}, sopts...)
	a.onCloseFunc("session cache", a.Sessions.Close)
	aopts := []authz.Option{authz.WithRedis(a.Redis), authz.WithMetrics(a.Metrics), authz.WithDegradedTTL(cfg.DegradedCacheTTL)}
	if cfg.Clock != nil {
		aopts = append(aopts, authz.WithClock(cfg.Clock))
	}
	a.Authz = authz.NewResolver(db.Client, a.Bus, log, aopts...)
	a.onCloseFunc("permission cache", a.Authz.Close)
	providers := []llm.Provider{llm.NewEcho()}
	if cfg.LLMBaseURL != "" {
		oc := llm.OpenAIConfig{BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey, Timeout: cfg.LLMTimeout, Models: cfg.LLMModels}
		if after := cfg.AfterFunc; after != nil {
			oc.AfterFunc = func(d time.Duration, f func()) llm.IdleTimer { return after(d, f) }
		}
		oa, err := llm.NewOpenAI(oc)
		if err != nil {
			return nil, fmt.Errorf("ATRIUM_LLM_BASE_URL: %w", err)
		}
		providers = append(providers, oa)
	}
	llmm := a.Metrics.LLM()
	for i, p := range providers {
		providers[i] = llm.Observe(p, func(provider, result string, d time.Duration, u llm.Usage) {
			llmm.Observe(provider, result, d, u.PromptTokens, u.CompletionTokens)
		})
	}
	registry := llm.NewRegistry(providers...)
	if err := registry.Refresh(ctx); err != nil {
		// A provider that is down at start is not fatal: its models appear
		// once it answers (GET /llm/models refreshes).
		log.Warn("language model provider did not list its models", "err", err)
	}
	a.Assistant = assistant.New(db.Client, registry, a.Audit, cfg.LLMMonthlyTokens)
	a.Access = authz.NewAccess(db.Client, authz.WithCache(a.Authz))
	a.Shares = authz.NewShares(db.Client, a.Access, a.Audit)
	a.Conversations = conversation.NewService(db.Client, a.Audit, a.Access, a.Assistant)
	a.Accounts = account.New(db.Client, a.Tokens, a.Sessions, a.Authz, a.Audit, log, session.Lifetimes{Idle: cfg.SessionIdle, Absolute: cfg.SessionMaxAge})
	pkCfg, err := passkey.ConfigFromPublicURL(cfg.PublicURL, cfg.WebAuthnOrigins)
	if err != nil {
		return nil, err
	}
	var ceremonies passkey.CeremonyStore = passkey.NewMemoryStore()
	if a.Redis != nil {
		// Sign-in and enrollment go on while Redis fails: new ceremonies are
		// kept in the database then (docs/authentication.md).
		ceremonies = passkey.NewFallbackStore(passkey.NewRedisStore(a.Redis), passkey.NewDBStore(db.Client, cfg.Clock), log, cfg.Clock)
	}
	a.RateLimiter = ratelimit.New(a.Redis, log)
	a.onCloseFunc("rate limiter", a.RateLimiter.Close)
	limits, err := ratelimit.NewPolicy(cfg.RateLimit, a.RateLimiter, log)
	if err != nil {
		return nil, err
	}
	if a.Passkeys, err = passkey.New(pkCfg, ceremonies, db.Client, a.Accounts, a.Audit, limits, log); err != nil {
		return nil, err
	}
	a.Metrics.Register(a.Passkeys.Refusals())
	if cfg.Clock != nil {
		a.Accounts.SetClock(cfg.Clock)
		a.Passkeys.SetClock(cfg.Clock)
	}

	console := map[string]http.Handler{}
	if cfg.MetricsOnAPI {
		console["GET /metrics"] = a.Metrics.Handler()
	}
	for _, p := range web.Patterns() {
		console[p] = web.Handler()
	}
	// The API reference and the contract it renders (public; see httpapi.PublicRoutes).
	for _, p := range web.DocsPatterns() {
		console[p] = web.DocsHandler()
	}
	contract, err := httpapi.ContractRoutes(atrium.OpenAPISpec)
	if err != nil {
		return nil, err
	}
	maps.Copy(console, contract)
	a.ServiceAccounts = serviceaccount.New(db.Client, a.Audit, a.Tokens, serviceaccount.Config{
		TokenEndpoint: strings.TrimRight(cfg.PublicURL, "/") + "/api/v1/auth/token", Now: cfg.Clock, Log: log,
		Bus: a.Bus, DegradedTTL: cfg.DegradedCacheTTL})
	a.onCloseFunc("service account cache", a.ServiceAccounts.Close)
	a.Security = httpapi.NewSecurityHandler(accessVerifier{a.Tokens}, a.Sessions, a.Authz, a.Audit, log).
		WithServiceAccounts(a.ServiceAccounts)
	a.Realtime = realtime.NewHub(rtAuth{a.Security}, rtAuthz{a.Access}, a.Bus, log,
		realtime.WithOrigins(publicOrigin(cfg.PublicURL)))
	a.onClose("real-time hub", a.Realtime.Close)
	a.Metrics.GaugeFunc("websocket_connections", "Open real-time (WebSocket) connections on this instance.",
		func() float64 { c, _ := a.Realtime.Stats(); return float64(c) })
	a.Metrics.GaugeFunc("websocket_subscriptions", "Conversation subscriptions of the open real-time connections on this instance.",
		func() float64 { _, s := a.Realtime.Stats(); return float64(s) })
	watchRevocations(a.Realtime, a.Authz, a.Sessions)
	a.Conversations.SetEvents(rtEvents{a.Realtime, log})
	console["GET /api/v1/ws"] = a.Realtime.Handler()
	h, err := httpapi.NewServer(httpapi.Config{
		Handler: httpapi.NewHandler(httpapi.Services{
			Conversations: a.Conversations, Passkeys: a.Passkeys, Accounts: a.Accounts,
			Roles:   authz.NewRoles(db.Client, a.Authz, a.Audit),
			Members: member.New(db.Client, a.Authz, a.Sessions, a.Audit),
			Teams:   team.New(db.Client, a.Authz, a.Audit),
			Shares:  a.Shares, Checker: a.Access,
			Privacy:         privacy.NewGDPR(db.Client, a.Sessions, a.Authz, a.Audit, log),
			Audit:           audit.NewReader(db.Client).WithVerifyLimit(limits),
			Agents:          agent.NewService(db.Client, a.Audit, a.Access),
			Assistant:       a.Assistant,
			Knowledge:       knowledge.NewService(db.Client, a.Audit, a.Access),
			Tenancy:         tenancy.New(db.Client, a.Audit, int64(cfg.LLMMonthlyTokens)),
			Documents:       document.NewService(db.Client, db.Dialect, a.Audit, a.Access, cfg.DocumentMaxBytes),
			Ready:           a.readiness,
			ServiceAccounts: a.ServiceAccounts,
		}, log),
		Security:       a.Security,
		JWKS:           ring.Handler(),
		Extra:          console,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Limits:         limits,
		TrustedProxies: cfg.TrustedProxies,
		Log:            log,
		Metrics:        a.Metrics.HTTP(),
		TracerProvider: a.Tracing,
	})
	if err != nil {
		return nil, err
	}
	a.Handler = h
	return a, nil
}

// rtAuth, rtAuthz and rtEvents adapt the API's authentication, the resource
// rule and the conversation service to the real-time hub.
type rtAuth struct{ s *httpapi.SecurityHandler }

func (r rtAuth) Authenticate(ctx context.Context, token string) (context.Context, realtime.Principal, error) {
	ctx, p, err := r.s.Authenticate(ctx, token)
	if err != nil && (fault.CodeOf(err) == fault.Unavailable || fault.CodeOf(err) == fault.Internal) {
		// Could not decide (a dependency down), which is not a bad token.
		err = fmt.Errorf("%w: %w", realtime.ErrUnavailable, err)
	}
	return ctx, realtime.Principal{UserID: p.UserID, TenantID: p.TenantID, SessionID: p.SessionID, ExpiresAt: p.ExpiresAt}, err
}

// watchRevocations makes the hub recheck, at once, the connections a
// session revocation, a permission change or a change of a conversation's
// shares affects (docs/realtime.md, Revocation). The caches call these after
// they dropped the changed answer, on every instance.
func watchRevocations(hub *realtime.Hub, perms *authz.Resolver, sessions *session.Store) {
	sessions.OnRevoke(func(sid uuid.UUID) { hub.Recheck(realtime.Change{Session: sid}) })
	perms.OnChange(func(c authz.Change) {
		switch c.Kind {
		case authz.ChangePermissions:
			hub.Recheck(realtime.Change{Tenant: c.Tenant, User: c.User})
		case authz.ChangeResource:
			switch {
			case c.ResourceID == uuid.Nil:
				hub.Recheck(realtime.Change{Tenant: c.Tenant})
			case c.ResourceType == authz.Conversation:
				hub.Recheck(realtime.Change{Tenant: c.Tenant, Conversation: c.ResourceID})
			}
		default:
			hub.Recheck(realtime.Change{})
		}
	})
}

type rtAuthz struct{ access *authz.Access }

func (r rtAuthz) CanRead(ctx context.Context, conversationID uuid.UUID) error {
	if !viewer.FromContext(ctx).Allows(authz.MessageRead) {
		return fault.New(fault.Forbidden, "missing permission %s", authz.MessageRead)
	}
	return r.access.Require(ctx, authz.Conversation, conversationID, authz.Viewer)
}

type rtEvents struct {
	hub *realtime.Hub
	log *slog.Logger
}

func (r rtEvents) MessageCreated(ctx context.Context, m *ent.Message) {
	data, _ := json.Marshal(map[string]any{"id": m.ID, "role": m.Role, "content": m.Content,
		"created_by": m.CreatedBy, "created_at": m.CreatedAt})
	err := r.hub.Publish(ctx, realtime.Event{Type: realtime.TypeMessageCreated, TenantID: m.TenantID,
		ConversationID: m.ConversationID, Data: data})
	if err != nil {
		r.log.WarnContext(ctx, "real-time event not published", "err", err)
	}
}

func (r rtEvents) AssistantToken(ctx context.Context, tenantID, conversationID uuid.UUID, delta string) {
	data, _ := json.Marshal(map[string]string{"delta": delta})
	err := r.hub.Publish(ctx, realtime.Event{Type: realtime.TypeAssistantToken, TenantID: tenantID,
		ConversationID: conversationID, Data: data})
	if err != nil {
		r.log.WarnContext(ctx, "real-time event not published", "err", err)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// InternalHandler is what the metrics listener (ATRIUM_METRICS_ADDR)
// serves: the Prometheus metrics at /metrics and the Go profiler at
// /debug/pprof/. Neither is ever on the API listener's routes (pprof not
// even with ATRIUM_METRICS_ON_API): keep this listener on a private
// address.
func (a *App) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func publicOrigin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return publicURL
	}
	return u.Scheme + "://" + u.Host
}

// accessVerifier adapts the token service to what the HTTP layer needs.
type accessVerifier struct{ svc *token.Service }

func (v accessVerifier) VerifyAccess(ctx context.Context, raw string) (httpapi.Principal, error) {
	c, err := v.svc.Verify(ctx, raw)
	if errors.Is(err, token.ErrInvalid) {
		return httpapi.Principal{}, fault.Wrap(err, fault.Unauthenticated, "the access token is not valid")
	}
	if err != nil {
		return httpapi.Principal{}, fault.Classify(err)
	}
	return httpapi.Principal{UserID: c.Subject, TenantID: c.TenantID, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt,
		ServiceAccount: c.ClientID != uuid.Nil}, nil
}

func (a *App) readiness(ctx context.Context) map[string]error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out := map[string]error{"database": a.DB.DB.PingContext(ctx)}
	if a.Redis != nil {
		out["redis"] = nil
		// Without Redis every request is still answered correctly (caches
		// short-lived, rate limits per instance): degraded, not down.
		if !a.Bus.Healthy() {
			out["redis"] = fmt.Errorf("%w: cache bus unhealthy", httpapi.ErrDegraded)
		} else if err := pingRedis(ctx, a.Redis); err != nil {
			out["redis"] = fmt.Errorf("%w: %w", httpapi.ErrDegraded, err)
		}
	}
	if f, ok := a.RateLimiter.(*ratelimit.Fallback); ok && f.Degraded() {
		a.Log.WarnContext(ctx, "rate limits are per instance while Redis fails")
	}
	if a.Authz.Degraded() {
		// Degraded is not down: answers come from the database with a short
		// cache; /ready stays up, the logs and the metrics say so.
		a.Log.WarnContext(ctx, "permission and session caches degraded: Redis bus unhealthy")
	}
	return out
}

// pingRedis answers within 500 ms whatever Redis does: a new connection to
// a Redis that accepts and never answers waits for go-redis's handshake,
// which does not follow the context. The ping itself ends with go-redis's
// own timeouts.
func pingRedis(ctx context.Context, rdb redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rdb.Ping(ctx).Err() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop releases everything the App built, in reverse order of building
// (the hub before the caches, the bus before its Redis client, the database
// last), each bounded by ctx. It returns every failure; calling it again does
// nothing.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		c := a.closers[i]
		if err := c.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}

// Close is Stop bounded by the configured shutdown timeout, for defers and
// test clean-ups; failures are logged.
func (a *App) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		a.Log.Warn("shutdown incomplete", "err", err)
	}
}

// Run serves HTTP on ln (and metrics on ATRIUM_METRICS_ADDR) and runs the
// background loops (signing-key reload and rotation, expired-ceremony
// sweep), all in one errgroup, until ctx ends or one of them fails. Then it
// shuts the servers down gracefully, closes the real-time connections and
// waits for every goroutine it started. It does not Stop the App: the
// caller does, after Run returns.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	var mln net.Listener
	if a.Config.MetricsAddr != "" {
		var err error
		if mln, err = net.Listen("tcp", a.Config.MetricsAddr); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	serve := func(s *http.Server, l net.Listener) func() error {
		return func() error {
			if err := s.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	g.Go(serve(srv, ln))
	if mln != nil {
		msrv := &http.Server{Handler: a.InternalHandler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
		servers = append(servers, msrv)
		g.Go(serve(msrv, mln))
		a.Log.Info("metrics listening", "addr", mln.Addr().String())
	}
	for _, loop := range a.loops {
		g.Go(func() error {
			if err := loop(gctx); err != nil && gctx.Err() == nil {
				return err
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		a.Log.Info("shutting down", "timeout", a.Config.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
		defer cancel()
		var errs []error
		for _, s := range servers {
			if err := s.Shutdown(sctx); err != nil {
				errs = append(errs, err)
			}
		}
		// Shutdown does not wait for hijacked (WebSocket) connections.
		errs = append(errs, a.Realtime.Close(sctx))
		return errors.Join(errs...)
	})
	a.Log.Info("listening", "addr", ln.Addr().String(), "public_url", a.Config.PublicURL)
	return g.Wait()
}
