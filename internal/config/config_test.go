package config_test

import (
	"os"
	"strings"
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

// TestDocumented: every variable Atrium reads is in docs/configuration.md.
func TestDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	for _, v := range config.Vars {
		name := v.Name
		if i := strings.Index(name, "_BURST"); i > 0 && strings.HasPrefix(name, "ATRIUM_RATE_LIMIT_") {
			name = "_" + strings.TrimPrefix(name, "ATRIUM_RATE_LIMIT_") // documented as "/ _X_BURST"
		}
		require.Contains(t, string(doc), name, "docs/configuration.md must describe %s", v.Name)
	}
}
