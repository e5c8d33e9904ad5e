package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("OK/EmbeddedDefaultMigratesItself", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(func(string) string { return "" })
		require.NoError(t, err)
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
		a, err := app.New(ctx, cfg, quiet())
		require.NoError(t, err)
		defer a.Close()
		n, err := migrate.Pending(ctx, a.DB.DB, a.DB.Dialect)
		require.NoError(t, err)
		require.Zero(t, n)
		require.FileExists(t, filepath.Join(cfg.DataDir, "kek"))
	})
	t.Run("ErrPostgresSchemaBehind", func(t *testing.T) {
		t.Parallel()
		url := testkit.PostgresURL(t) // an empty database: every migration pending
		cfg, err := config.Load(func(k string) string {
			return map[string]string{
				"ATRIUM_DATABASE_URL":       url,
				"ATRIUM_KEY_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
			}[k]
		})
		require.NoError(t, err)
		_, err = app.New(ctx, cfg, quiet())
		require.ErrorContains(t, err, "migration(s) behind")
		require.ErrorContains(t, err, "atrium migrate apply")

		cfg.AutoMigrate = true // ATRIUM_AUTO_MIGRATE=true
		a, err := app.New(ctx, cfg, quiet())
		require.NoError(t, err)
		a.Close()
	})
	t.Run("ErrPostgresWithoutKEK", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(func(k string) string {
			return map[string]string{"ATRIUM_DATABASE_URL": testkit.PostgresURL(t), "ATRIUM_AUTO_MIGRATE": "true"}[k]
		})
		require.NoError(t, err)
		_, err = app.New(ctx, cfg, quiet())
		require.ErrorIs(t, err, config.ErrKEKRequired)
	})
}

// TestMetrics: /metrics is served only when configured, with the cache and
// check metrics.
func TestMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		cfg, err := config.Load(func(string) string { return "" })
		require.NoError(t, err)
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
		cfg.MetricsOnAPI = on
		a, err := app.New(ctx, cfg, quiet())
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if on {
			require.Equal(t, 200, rec.Code)
			require.Contains(t, rec.Body.String(), "atrium_cache_degraded")
		} else {
			require.Equal(t, 404, rec.Code, "not public unless configured")
		}
		a.Close()
	}
}

// TestBuildReleasesOnError: a start-up that fails half-way closes what it
// built (Redis client, bus, caches, token cache); TestMain's leak check
// fails the package otherwise.
func TestBuildReleasesOnError(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	cfg.DataDir = t.TempDir()
	cfg.RedisURL = testkit.RedisURL(t)
	cfg.PublicURL = "no-host" // refused late: after the caches and the bus exist
	kek := make([]byte, 32)
	_, err = app.Build(context.Background(), cfg, testkit.SQLite(t), kek, quiet())
	require.ErrorContains(t, err, "has no host")
}

// TestRun: Run serves until its context ends, then shuts down and returns;
// a server that cannot start ends Run with its error.
func TestRun(t *testing.T) {
	t.Parallel()
	newApp := func(t *testing.T) *app.App {
		cfg, err := config.Load(func(string) string { return "" })
		require.NoError(t, err)
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
		a, err := app.New(context.Background(), cfg, quiet())
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, a.Stop(context.Background())) })
		return a
	}
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		a := newApp(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx, ln) }()
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/health")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		cancel()
		require.NoError(t, <-done)
	})
	t.Run("ErrMetricsAddress", func(t *testing.T) {
		t.Parallel()
		a := newApp(t)
		a.Config.MetricsAddr = "256.0.0.1:0"
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		require.ErrorContains(t, a.Run(context.Background(), ln), "metrics listener")
	})
}

// TestBuildRedisDown: an instance whose Redis is unreachable at start-up
// starts degraded (issue #11), as one whose Redis failed later does: the bus
// is unhealthy, /ready is 200 with "redis":"degraded", and once Redis
// answers the bus reconnects by itself, without a restart.
func TestBuildRedisDown(t *testing.T) {
	t.Parallel()
	rd := testkit.NewDedicatedRedis(t)
	rd.Kill() // its port is known, nobody listens on it
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	cfg.DataDir = t.TempDir()
	cfg.RedisURL = rd.URL()
	a, err := app.Build(context.Background(), cfg, testkit.SQLite(t), make([]byte, 32), quiet())
	require.NoError(t, err, "Redis down at start must not stop the instance")
	defer a.Close()
	require.False(t, a.Bus.Healthy())
	ready := func() (int, string) {
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/ready", nil))
		return rec.Code, rec.Body.String()
	}
	code, body := ready()
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"redis":"degraded"`)

	rd.Start(t)
	deadline := time.Now().Add(30 * time.Second) // bounds a poll; no duration is asserted
	for !a.Bus.Healthy() {
		require.True(t, time.Now().Before(deadline), "the bus did not reconnect once Redis was back")
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	code, body = ready()
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"redis":"ok"`)
}
