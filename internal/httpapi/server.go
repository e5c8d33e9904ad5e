package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ogen-go/ogen/middleware"

	"atrium/gen/api"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"atrium/internal/fault"
	"atrium/internal/metrics"
	"atrium/internal/ratelimit"
)

// Config assembles the HTTP surface.
type Config struct {
	Handler      *Handler
	Security     *SecurityHandler
	JWKS         http.Handler            // served at /.well-known/jwks.json
	Extra        map[string]http.Handler // more routes for the outer mux ("GET /path")
	MaxBodyBytes int64
	Log          *slog.Logger
	// Limits throttles the public auth operations per client address.
	Limits         IPLimiter
	TrustedProxies []netip.Prefix
	// Metrics counts and times requests by operation (nil: not measured).
	Metrics *metrics.HTTP
	// TracerProvider makes the server span of each request, the operation
	// span ogen makes inside it and, through the context, the database
	// spans (nil: no traces).
	TracerProvider trace.TracerProvider
}

// IPLimiter throttles an operation per client address (taken from the
// context, see ratelimit.ClientIPMiddleware).
type IPLimiter interface {
	CheckClientIP(ctx context.Context, endpoint string) error
}

// throttled are the public operations limited per client address.
var throttled = map[api.OperationName]bool{
	api.LoginOptionsOperation:          true,
	api.LoginOperation:                 true,
	api.RegisterDeviceOptionsOperation: true,
	api.RegisterDeviceOperation:        true,
	api.ExchangeTokenOperation:         true,
	api.ServiceAccountTokenOperation:   true,
}

func rateLimit(l IPLimiter) middleware.Middleware {
	return func(req middleware.Request, next middleware.Next) (middleware.Response, error) {
		if throttled[req.OperationName] {
			if err := l.CheckClientIP(req.Context, string(req.OperationName)); err != nil {
				return middleware.Response{}, err
			}
		}
		return next(req)
	}
}

// NewServer returns the whole HTTP handler: the generated API under /api/v1,
// public routes beside it, all behind the request middleware.
func NewServer(cfg Config) (http.Handler, error) {
	log := cfg.Log
	tp := cfg.TracerProvider
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	opts := []api.ServerOption{api.WithPathPrefix("/api/v1"), api.WithTracerProvider(tp),
		// Request metrics are withRequest's (Prometheus, below); ogen's own
		// OpenTelemetry instruments would only duplicate them.
		api.WithMeterProvider(metricnoop.NewMeterProvider())}
	if cfg.Limits != nil {
		opts = append(opts, api.WithMiddleware(rateLimit(cfg.Limits)))
	}
	apiServer, err := api.NewServer(cfg.Handler, cfg.Security, append(opts,
		api.WithErrorHandler(func(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
			writeDecodeError(w, r, log, err)
		}),
		api.WithNotFound(func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, r, log, fault.New(fault.NotFound, "no such endpoint"))
		}),
		api.WithMethodNotAllowed(func(w http.ResponseWriter, r *http.Request, allowed string) {
			w.Header().Set("Allow", allowed)
			writeProblem(w, r, log, fault.New(fault.BadMethod, "method not allowed; allowed: %s", allowed))
		}),
	)...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", apiServer)
	if cfg.JWKS != nil {
		mux.Handle("GET /.well-known/jwks.json", cfg.JWKS)
	}
	for pattern, h := range cfg.Extra {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path != "/" {
			writeProblem(w, r, log, fault.New(fault.NotFound, "no such endpoint"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Atrium is running. API: /api/v1, keys: /.well-known/jwks.json\n"))
	})
	o := observer{tracer: tp.Tracer("atrium/http"), metrics: cfg.Metrics, route: router(mux, apiServer)}
	return withRequest(log, cfg.MaxBodyBytes, o, withTextCheck(log, ratelimit.ClientIPMiddleware(cfg.TrustedProxies)(mux))), nil
}

// router names the route of a request, with few enough values to label
// metrics: the OpenAPI operation name and path template of an API call, or a
// fixed name for the routes beside the API ("unmatched" for none).
func router(mux *http.ServeMux, apiServer *api.Server) func(*http.Request) (string, string) {
	return func(r *http.Request) (string, string) {
		_, pattern := mux.Handler(r)
		switch {
		case pattern == "/api/v1/":
			if rt, ok := apiServer.FindPath(r.Method, r.URL); ok {
				return rt.Name(), "/api/v1" + rt.PathPattern()
			}
			return "unmatched", ""
		case pattern == "/":
			if r.URL.Path == "/" {
				return "root", "/"
			}
			return "unmatched", ""
		case pattern == "":
			return "unmatched", ""
		}
		_, path, _ := strings.Cut(pattern, " ")
		if path == "" {
			path = pattern
		}
		switch path {
		case "/.well-known/jwks.json":
			return "jwks", path
		case "/metrics":
			return "metrics", path
		case "/api/v1/ws":
			return "websocket", path
		}
		return "console", path
	}
}
