package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

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
