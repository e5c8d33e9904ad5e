package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"atrium/gen/api"
	"atrium/internal/fault"
	"atrium/internal/metrics"
	"atrium/internal/requestid"
	"atrium/internal/telemetry"
)

// respMeta lets the error mapper, which only returns a body, ask the response
// writer for extra headers (Retry-After).
type respMeta struct {
	retryAfter time.Duration
}

type metaKey struct{}

func metaFrom(ctx context.Context) *respMeta {
	m, _ := ctx.Value(metaKey{}).(*respMeta)
	return m
}

type recorder struct {
	http.ResponseWriter
	meta   *respMeta
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	r.status = code
	if r.meta.retryAfter > 0 {
		r.Header().Set("Retry-After", strconv.Itoa(int(r.meta.retryAfter.Seconds()+0.999)))
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observer is what withRequest measures with: the server span's tracer, the
// request metrics (nil: none) and the route of a request (its operation
// name for the metrics, its pattern for the span).
type observer struct {
	tracer  trace.Tracer
	metrics *metrics.HTTP
	route   func(*http.Request) (operation, pattern string)
}

// withRequest is the outermost middleware: the server span (continuing a
// trace the client's traceparent names), request metrics, request id,
// recovery, body limit, security headers and the access log (IDs and
// numbers only, no personal data).
func withRequest(log *slog.Logger, maxBody int64, o observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !requestid.Valid(rid) {
			rid = requestid.New()
		}
		op, pattern := o.route(r)
		name := r.Method
		if pattern != "" {
			name += " " + pattern
		}
		ctx := telemetry.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(r.Method),
				semconv.HTTPRoute(pattern),
				attribute.String("atrium.operation", op),
				attribute.String("atrium.request_id", rid),
			))
		var done func(string, int, time.Duration)
		if o.metrics != nil {
			done = o.metrics.Start()
		}
		meta := &respMeta{}
		ctx = requestid.NewContext(ctx, rid)
		ctx = context.WithValue(ctx, metaKey{}, meta)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w, meta: meta}
		h := rec.Header()
		h.Set("X-Request-Id", rid)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if op == string(api.ServiceAccountTokenOperation) || op == string(api.ExchangeTokenOperation) {
			h.Set("Pragma", "no-cache") // token endpoints, on every answer (RFC 6749 section 5.1)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "request_id", rid, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeProblem(rec, r, log, fault.New(fault.Internal, "internal error"))
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
			if done != nil {
				done(op, status, time.Since(start))
			}
			log.LogAttrs(ctx, slog.LevelInfo, "http",
				slog.String("request_id", rid),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)),
			)
		}()
		next.ServeHTTP(rec, r)
	})
}
