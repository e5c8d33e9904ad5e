package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"atrium/internal/fault"
	"atrium/internal/requestid"
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

// withRequest is the outermost middleware: request id, recovery, body limit,
// security headers and the access log (IDs and numbers only, no personal data).
func withRequest(log *slog.Logger, maxBody int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !requestid.Valid(rid) {
			rid = requestid.New()
		}
		meta := &respMeta{}
		ctx := requestid.NewContext(r.Context(), rid)
		ctx = context.WithValue(ctx, metaKey{}, meta)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w, meta: meta}
		h := rec.Header()
		h.Set("X-Request-Id", rid)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
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
