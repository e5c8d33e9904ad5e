package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ogen-go/ogen/middleware"

	"atrium/gen/api"
	"atrium/internal/fault"
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
	opts := []api.ServerOption{api.WithPathPrefix("/api/v1")}
	if cfg.Limits != nil {
		opts = append(opts, api.WithMiddleware(rateLimit(cfg.Limits)))
	}
	apiServer, err := api.NewServer(cfg.Handler, cfg.Security, append(opts,
		api.WithErrorHandler(func(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, log, err)
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
	return withRequest(log, cfg.MaxBodyBytes, withTextCheck(log, ratelimit.ClientIPMiddleware(cfg.TrustedProxies)(mux))), nil
}
