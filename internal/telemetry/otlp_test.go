package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/telemetry"
)

// TestOTLPExport: with OTEL_EXPORTER_OTLP_ENDPOINT set, the provider sends
// the spans to <endpoint>/v1/traces as OTLP/HTTP protobuf, with the service
// name OTEL_SERVICE_NAME gives, at the latest when it shuts down. Without
// the variable it records nothing. Not parallel: it sets the environment.
func TestOTLPExport(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		body = append(body, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()

	ctx := context.Background()
	tp, shutdown, err := telemetry.NewTracerProvider(ctx, "test")
	require.NoError(t, err)
	_, span := tp.Tracer("t").Start(ctx, "off")
	require.False(t, span.SpanContext().IsValid(), "no endpoint: no-op provider")
	span.End()
	require.NoError(t, shutdown(ctx))

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "atrium-otlp-test")
	tp, shutdown, err = telemetry.NewTracerProvider(ctx, "test")
	require.NoError(t, err)
	_, span = tp.Tracer("t").Start(ctx, "exported-span")
	require.True(t, span.SpanContext().IsValid())
	span.End()
	require.NoError(t, shutdown(ctx))

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"POST /v1/traces application/x-protobuf"}, got)
	require.Contains(t, string(body), "exported-span")
	require.Contains(t, string(body), "atrium-otlp-test")
}
