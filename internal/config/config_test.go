package config_test

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Parallel()
	t.Run("OK/Defaults", func(t *testing.T) {
		c, err := config.Load(env(nil))
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:8080", c.HTTPAddr)
		require.False(t, c.IsPostgres())
		require.True(t, c.AutoMigrate, "the embedded default migrates itself")
		require.Equal(t, c.PublicURL, c.Issuer)
		require.NoError(t, c.CheckKEK())
	})
	t.Run("OK/Postgres", func(t *testing.T) {
		c, err := config.Load(env(map[string]string{
			"ATRIUM_DATABASE_URL":       "postgres://u@db:5432/atrium",
			"ATRIUM_KEY_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		}))
		require.NoError(t, err)
		require.True(t, c.IsPostgres())
		require.False(t, c.AutoMigrate, "PostgreSQL migrates only when asked")
		require.Len(t, c.KeyEncryptionKey, 32)
		require.NoError(t, c.CheckKEK())
	})
	t.Run("OK/PoolFollowsCores", func(t *testing.T) {
		c, err := config.Load(env(nil))
		require.NoError(t, err)
		require.Equal(t, 2*runtime.GOMAXPROCS(0)+2, c.DBMaxConns)
		require.Equal(t, c.DBMaxConns, c.DBMaxIdleConns, "idle follows the pool's size")
		c, err = config.Load(env(map[string]string{"ATRIUM_DB_MAX_CONNS": "40"}))
		require.NoError(t, err)
		require.Equal(t, 40, c.DBMaxConns)
		require.Equal(t, 40, c.DBMaxIdleConns, "idle follows a size that was set")
		c, err = config.Load(env(map[string]string{"ATRIUM_DB_MAX_IDLE_CONNS": "0"}))
		require.NoError(t, err)
		require.Zero(t, c.DBMaxIdleConns, "no idle connections when asked")
		_, err = config.Load(env(map[string]string{"ATRIUM_DB_MAX_CONNS": "0"}))
		require.ErrorContains(t, err, "ATRIUM_DB_MAX_CONNS")
	})
	t.Run("ErrKEKRequiredWithPostgres", func(t *testing.T) {
		c, err := config.Load(env(map[string]string{"ATRIUM_DATABASE_URL": "postgres://u@db/atrium"}))
		require.NoError(t, err, "migrate commands work without the key")
		require.ErrorIs(t, c.CheckKEK(), config.ErrKEKRequired)
	})
	t.Run("ErrEveryProblemAtOnce", func(t *testing.T) {
		_, err := config.Load(env(map[string]string{
			"ATRIUM_DATABASE_URL":       "mysql://x",
			"ATRIUM_REDIS_URL":          "memcached://x",
			"ATRIUM_PUBLIC_URL":         "not a url",
			"ATRIUM_KEY_ENCRYPTION_KEY": "c2hvcnQ=",
			"ATRIUM_ACCESS_TOKEN_TTL":   "forever",
			"ATRIUM_MAX_BODY_BYTES":     "12",
			"ATRIUM_LOG_LEVEL":          "loud",
			"ATRIUM_AUTO_MIGRATE":       "maybe",
		}))
		require.Error(t, err)
		for _, name := range []string{"ATRIUM_DATABASE_URL", "ATRIUM_REDIS_URL", "ATRIUM_PUBLIC_URL",
			"ATRIUM_KEY_ENCRYPTION_KEY", "ATRIUM_ACCESS_TOKEN_TTL", "ATRIUM_MAX_BODY_BYTES", "ATRIUM_LOG_LEVEL", "ATRIUM_AUTO_MIGRATE"} {
			require.Contains(t, err.Error(), name)
		}
	})
}

// TestDocumented: the table in docs/configuration.md is the one generated
// from Vars (run `go generate ./internal/config` after changing vars.go).
func TestDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	want, err := config.ReplaceTable(string(doc))
	require.NoError(t, err)
	require.Equal(t, want, string(doc), "docs/configuration.md is stale: run go generate ./internal/config")
}

func TestLoadChecks(t *testing.T) {
	t.Parallel()
	t.Run("OK/PublicURLFollowsListenPort", func(t *testing.T) {
		c, err := config.Load(env(map[string]string{"ATRIUM_HTTP_ADDR": "0.0.0.0:9000"}))
		require.NoError(t, err)
		require.Equal(t, "http://localhost:9000", c.PublicURL)
		require.Equal(t, c.PublicURL, c.Issuer)
		require.NoError(t, c.CheckServe())
	})
	t.Run("ErrEveryProblemAtOnce", func(t *testing.T) {
		c, err := config.Load(env(map[string]string{
			"ATRIUM_HTTP_ADDR":        "localhost",
			"ATRIUM_DATABASE_URL":     "postgres://u@db:notaport/atrium",
			"ATRIUM_METRICS_ADDR":     "9090",
			"ATRIUM_PUBLIC_URL":       "http://atrium.example.com",
			"ATRIUM_WEBAUTHN_ORIGINS": "http://app.example.com",
		}))
		require.Error(t, err)
		err = errors.Join(err, c.CheckServe())
		for _, want := range []string{
			"ATRIUM_HTTP_ADDR: \"localhost\" is not a listen address",
			"ATRIUM_DATABASE_URL: not a valid PostgreSQL URL",
			"ATRIUM_METRICS_ADDR",
			"ATRIUM_PUBLIC_URL: http:// only for localhost",
			"ATRIUM_WEBAUTHN_ORIGINS: http://app.example.com: http:// only for localhost",
		} {
			require.Contains(t, err.Error(), want)
		}
	})
	t.Run("ErrKEKRequiredAtServe", func(t *testing.T) {
		c, err := config.Load(env(map[string]string{"ATRIUM_DATABASE_URL": "postgres://u@db/atrium"}))
		require.NoError(t, err)
		require.ErrorIs(t, c.CheckServe(), config.ErrKEKRequired)
	})
	t.Run("OK/LocalhostHTTP", func(t *testing.T) {
		for _, u := range []string{"http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080", "https://atrium.example.com"} {
			c, err := config.Load(env(map[string]string{"ATRIUM_PUBLIC_URL": u}))
			require.NoError(t, err)
			require.NoError(t, c.CheckServe(), u)
		}
	})
}

func TestUnknown(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		require.Empty(t, config.Unknown([]string{"ATRIUM_HTTP_ADDR=:1", "ATRIUM_TEST_DATABASE_URL=x", "HOME=/root", "ATRIUM_TEST_REQUIRE_SERVICES=1"}))
	})
	t.Run("ErrTypo", func(t *testing.T) {
		got := config.Unknown([]string{"ATRIUM_HTTP_ADDRESS=:1", "ATRIUM_DATABSE_URL=postgres://x", "ATRIUM_FROBNICATE=1"})
		require.Equal(t, []string{
			"unknown variable ATRIUM_DATABSE_URL is ignored (did you mean ATRIUM_DATABASE_URL?)",
			"unknown variable ATRIUM_FROBNICATE is ignored",
			"unknown variable ATRIUM_HTTP_ADDRESS is ignored (did you mean ATRIUM_HTTP_ADDR?)",
		}, got)
	})
}
