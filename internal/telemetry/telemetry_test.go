package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/tracelog"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"atrium/internal/telemetry"
)

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "one JSON object per line: %q", line)
		out = append(out, m)
	}
	return out
}

// TestLoggerAddsTraceID: a record made inside a span names its trace and
// span; outside one it names none.
func TestLoggerAddsTraceID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := telemetry.Logger(slog.New(slog.NewJSONHandler(&buf, nil)))
	require.Same(t, log, telemetry.Logger(log), "wrapping twice is harmless")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	log.With("k", "v").InfoContext(ctx, "inside")
	span.End()
	log.InfoContext(context.Background(), "outside")
	rs := records(t, &buf)
	require.Equal(t, span.SpanContext().TraceID().String(), rs[0]["trace_id"])
	require.Equal(t, span.SpanContext().SpanID().String(), rs[0]["span_id"])
	require.Equal(t, "v", rs[0]["k"])
	require.NotContains(t, rs[1], "trace_id")
	require.Equal(t, telemetry.TraceID(ctx), rs[0]["trace_id"])
	require.Empty(t, telemetry.TraceID(context.Background()))
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	require.False(t, telemetry.Enabled(env(nil)))
	require.True(t, telemetry.Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})))
	require.True(t, telemetry.Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})))
	require.False(t, telemetry.Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})))
}

// TestThirdPartyLogsAreJSON: go-redis's and pgx's messages become one JSON
// record each on the default logger, multi-line text included, and pgx's
// statement arguments (personal data) are dropped. Not parallel: it swaps
// the process's default logger.
func TestThirdPartyLogsAreJSON(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	telemetry.UseLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))

	telemetry.RedisLogger{}.Printf(context.Background(), "redis: connection pool: %s\nsecond line", "failed to dial")
	tl := telemetry.PgxTracer()
	tl.Logger.Log(context.Background(), tracelog.LogLevelError, "Query", map[string]any{
		"sql": "SELECT 1 WHERE email = $1", "args": []any{"alice@example.com"}, "err": errors.New("boom"),
	})
	tl.Logger.Log(context.Background(), tracelog.LogLevelError, "Connect", map[string]any{"err": errors.New("refused")})

	require.NotContains(t, buf.String(), "alice@example.com")
	rs := records(t, &buf)
	require.Len(t, rs, 3)
	require.Equal(t, "redis", rs[0]["component"])
	require.Equal(t, "WARN", rs[0]["level"])
	require.Contains(t, rs[0]["detail"], "second line")
	require.Equal(t, "pgx", rs[1]["component"])
	require.Equal(t, "DEBUG", rs[1]["level"], "a failed statement is the caller's to report")
	require.Equal(t, "boom", rs[1]["err"])
	require.Equal(t, "WARN", rs[2]["level"], "a failed connection is worth a warning")
}
