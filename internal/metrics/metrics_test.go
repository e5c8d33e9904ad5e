package metrics_test

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/metrics"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	c := m.Cache("authz")
	c.L1Hit.Inc()
	c.InvalidatedBus.Inc()
	c.CheckDB.Observe(0.002)
	c.Degraded.Set(1)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`atrium_cache_requests_total{cache="authz",level="l1",result="hit"} 1`,
		`atrium_cache_invalidations_received_total{cache="authz",source="bus"} 1`,
		`atrium_authz_check_duration_seconds_count{level="db"} 1`,
		`atrium_cache_degraded{cache="authz"} 1`,
		`go_goroutines`,
	} {
		require.Contains(t, string(body), want)
	}
}

func TestNilMetricsWork(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	require.NotPanics(t, func() { m.Cache("session").L1Miss.Inc() })
}

// TestNames: Names lists every registered metric, observed or not.
func TestNames(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.HTTP()
	m.LLM()
	names := m.Names()
	for _, want := range []string{"atrium_http_requests_total", "atrium_http_request_duration_seconds",
		"atrium_llm_tokens_total", "atrium_cache_degraded", "go_goroutines"} {
		require.Contains(t, names, want)
	}
	require.NotContains(t, names, "atrium_audit_appends_total", "not registered before first use")
}

func TestStatusClass(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{200: "2xx", 101: "1xx", 404: "4xx", 503: "5xx", 0: "unknown", 600: "unknown"} {
		require.Equal(t, want, metrics.StatusClass(code), code)
	}
}
