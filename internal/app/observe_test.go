package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/apptest"
	"atrium/internal/config"
	"atrium/internal/telemetry"
	"atrium/internal/testkit"
)

// TestTracing: one API request is one trace holding the server span, ogen's
// operation span and the database spans beneath them; its problem body
// names that trace; a client's traceparent is continued; the request is
// counted by operation and status class.
func TestTracing(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			env := apptest.New(t, db.Open(t), func(c *config.Config) { c.TracerProvider = tp })
			m := env.Member(env.Tenant().ID)

			get := func(header http.Header) (*http.Response, map[string]any) {
				req, err := http.NewRequest("GET", env.Server.URL+"/api/v1/conversations/"+uuid.NewString(), nil)
				require.NoError(t, err)
				req.Header = header
				req.Header.Set("Authorization", "Bearer "+m.Token)
				resp, err := env.Server.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				var body map[string]any
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
				return resp, body
			}
			resp, body := get(http.Header{})
			require.Equal(t, 403, resp.StatusCode) // no role: refused after the permissions were read
			tid, _ := body["trace_id"].(string)
			require.Len(t, tid, 32, "problem body: %v", body)

			byScope := map[string][]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				if s.SpanContext().TraceID().String() == tid {
					byScope[s.InstrumentationScope().Name] = append(byScope[s.InstrumentationScope().Name], s)
				}
			}
			require.Len(t, byScope["atrium/http"], 1)
			server := byScope["atrium/http"][0]
			require.Equal(t, "GET /api/v1/conversations/{conversationId}", server.Name())
			require.False(t, server.Parent().IsValid(), "the server span is the root")
			var op sdktrace.ReadOnlySpan
			for _, spans := range byScope {
				for _, s := range spans {
					if s.Name() == string(api.GetConversationOperation) {
						op = s
					}
				}
			}
			require.NotNil(t, op, "ogen's operation span: %v", byScope)
			require.Equal(t, server.SpanContext().SpanID(), op.Parent().SpanID())
			dbSpans := byScope[telemetry.ScopeDB]
			require.NotEmpty(t, dbSpans, "database spans in the request's trace")
			for _, s := range dbSpans {
				require.True(t, s.Parent().IsValid())
				for _, a := range s.Attributes() {
					if a.Key == "db.query.text" {
						require.NotContains(t, a.Value.AsString(), m.UserID.String(), "arguments stay out of spans")
					}
				}
			}

			// A caller's trace is continued.
			const parent = "4bf92f3577b34da6a3ce929d0e0e4736"
			h := http.Header{}
			h.Set("Traceparent", "00-"+parent+"-00f067aa0ba902b7-01")
			_, body = get(h)
			require.Equal(t, parent, body["trace_id"])

			// Counted by operation and status class, not by path or tenant.
			out := httptest.NewRecorder()
			env.App.Metrics.Handler().ServeHTTP(out, httptest.NewRequest("GET", "/metrics", nil))
			require.Contains(t, out.Body.String(), `atrium_http_requests_total{operation="GetConversation",status_class="4xx"} 2`)
			require.Contains(t, out.Body.String(), `atrium_http_request_duration_seconds_count{operation="GetConversation"} 2`)
			require.Contains(t, out.Body.String(), `atrium_audit_appends_total{result="ok"}`)
			require.NotContains(t, out.Body.String(), m.TenantID.String())
		})
	}
}

// TestPprofOnlyOnTheMetricsListener: the profiler is served by the metrics
// listener's handler and never by the API's, not even with /metrics on it.
func TestPprofOnlyOnTheMetricsListener(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.MetricsOnAPI = true
	a, err := app.New(context.Background(), cfg, quiet())
	require.NoError(t, err)
	defer a.Close()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1", "/api/v1/debug/pprof/"} {
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		require.Equal(t, 404, rec.Code, path)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), path)
	}
	srv := httptest.NewServer(a.InternalHandler())
	defer srv.Close()
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
		"/metrics":                       "atrium_http_requests_in_flight",
	} {
		resp, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, path)
		require.True(t, strings.Contains(string(b), want), "%s: %.200s", path, b)
	}
}

// BenchmarkObservedRequest measures GET /api/v1/health through the whole
// handler (request id, server span, route lookup, metrics, access log),
// without tracing and with a sampling SDK provider (spans made, not
// exported).
func BenchmarkObservedRequest(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "untraced"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			cfg, err := config.Load(func(string) string { return "" })
			require.NoError(b, err)
			cfg.DataDir = filepath.Join(b.TempDir(), "data")
			if traced {
				cfg.TracerProvider = sdktrace.NewTracerProvider()
			}
			a, err := app.New(context.Background(), cfg, quiet())
			require.NoError(b, err)
			defer a.Close()
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/health", nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// TestAccessLogNamesTheTrace: the app's log records made while serving a
// request carry its trace id (here the one a client's traceparent names).
func TestAccessLogNamesTheTrace(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&buf, nil)))
	require.NoError(t, err)
	defer a.Close()
	req := httptest.NewRequest("GET", "/api/v1/no-such-thing", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	require.Equal(t, 404, rec.Code)
	require.Contains(t, rec.Body.String(), `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`)
	found := false
	for _, line := range strings.Split(buf.String(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "http" {
			require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", r["trace_id"], line)
			require.NotEmpty(t, r["span_id"])
			found = true
		}
	}
	require.True(t, found, "no access log record in %s", buf.String())
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
