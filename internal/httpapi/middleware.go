package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
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

	// held is a JSON body kept back until the handler returns, so that it
	// goes out with its Content-Length in as few writes as the connection
	// allows, instead of chunked: the generated encoders write a whole body
	// in one Write after WriteHeader, and net/http chunks any body over 2 KB
	// that has no length, which costs a write system call per response
	// (the chunked terminator) and the client a chunk parser. nil when
	// nothing is held: the header has gone out (status set) or will on
	// Write (status 0).
	held *[]byte
}

// maxHeld bounds a held body; past it the body streams out chunked.
const maxHeld = 1 << 20

var heldPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// putHeld returns a buffer to the pool, unless a large body grew it: the
// pool keeps buffers of ordinary answers, not of the largest one seen.
func putHeld(b *[]byte) {
	if cap(*b) <= 256<<10 {
		*b = (*b)[:0]
		heldPool.Put(b)
	}
}

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	r.status = code
	if r.meta.retryAfter > 0 {
		r.Header().Set("Retry-After", strconv.Itoa(int(r.meta.retryAfter.Seconds()+0.999)))
	}
	if holdable(r.Header(), code) {
		r.held = heldPool.Get().(*[]byte)
		return
	}
	r.ResponseWriter.WriteHeader(code)
}

// holdable reports whether a response's body may be held back to be sent
// with its length: a JSON body whose length the handler did not set, on a
// status that has a body.
func holdable(h http.Header, code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified &&
		h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" && isJSON(h.Get("Content-Type"))
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.held != nil {
		if len(*r.held)+len(b) <= maxHeld {
			*r.held = append(*r.held, b...)
			r.bytes += len(b)
			return len(b), nil
		}
		if err := r.release(false); err != nil {
			return 0, err
		}
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// release sends the header and the held body, with its length when whole
// (the handler has returned); it is a no-op when nothing is held.
func (r *recorder) release(whole bool) error {
	if r.held == nil {
		return nil
	}
	b := r.held
	r.held = nil
	defer putHeld(b)
	if whole {
		r.Header().Set("Content-Length", strconv.Itoa(len(*b)))
	}
	r.ResponseWriter.WriteHeader(r.status)
	if len(*b) == 0 {
		return nil
	}
	_, err := r.ResponseWriter.Write(*b)
	return err
}

// discard drops a held body that was not sent (the handler panicked), so
// that an error can be written instead; false when the header has gone out.
func (r *recorder) discard() bool {
	if r.status != 0 && r.held == nil { // the header has gone out
		return false
	}
	if r.held != nil {
		putHeld(r.held)
		r.held = nil
	}
	r.status, r.bytes = 0, 0
	return true
}

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// hijack, deadlines); a held body goes out first, without a length, since
// more may follow.
func (r *recorder) Unwrap() http.ResponseWriter {
	_ = r.release(false)
	return r.ResponseWriter
}

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
				if rec.discard() {
					writeProblem(rec, r, log, fault.New(fault.Internal, "internal error"))
				}
			}
			if err := rec.release(true); err != nil {
				log.LogAttrs(ctx, slog.LevelDebug, "response not written", slog.String("request_id", rid), slog.Any("err", err))
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
