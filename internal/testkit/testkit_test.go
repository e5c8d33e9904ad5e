package testkit

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func TestDatabases(t *testing.T) {
	t.Parallel()
	t.Run("OKMigratedAndIsolated", func(t *testing.T) {
		t.Parallel()
		a, b := Databases(t), Databases(t)
		require.Equal(t, len(a), len(b))
		for i := range a {
			require.Equal(t, a[i].Name, b[i].Name)
			ctx := context.Background()
			var n int
			require.NoError(t, a[i].DB.QueryRowContext(ctx, "SELECT count(*) FROM roles").Scan(&n))
			require.Equal(t, 3, n, "system roles seeded by the migrations")
			_, err := a[i].DB.ExecContext(ctx, "DELETE FROM roles")
			require.NoError(t, err)
			require.NoError(t, b[i].DB.QueryRowContext(ctx, "SELECT count(*) FROM roles").Scan(&n))
			require.Equal(t, 3, n, "a test's changes stay in its own database")
		}
	})
}

func redisDo(t *testing.T, raw string, args ...string) any {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	db := 0
	if p := u.Path; len(p) > 1 {
		for _, c := range p[1:] {
			db = db*10 + int(c-'0')
		}
	}
	base := *u
	base.Path = ""
	reply, err := (&redisSrv{url: &base}).do(db, args...)
	require.NoError(t, err)
	return reply
}

func TestRedisURL(t *testing.T) {
	t.Parallel()
	t.Run("OKIsolated", func(t *testing.T) {
		t.Parallel()
		a, b := RedisURL(t), RedisURL(t)
		require.NotEqual(t, a, b)
		redisDo(t, a, "SET", "k", "a")
		require.Equal(t, "a", redisDo(t, a, "GET", "k"))
		require.Nil(t, redisDo(t, b, "GET", "k"))
	})
}

func TestDisposableRedis(t *testing.T) {
	t.Parallel()
	t.Run("OKStop", func(t *testing.T) {
		t.Parallel()
		u, stop := DisposableRedis(t)
		require.Equal(t, "PONG", redisDo(t, u, "PING"))
		stop()
		pu, err := url.Parse(u)
		require.NoError(t, err)
		_, err = (&redisSrv{url: &url.URL{Host: pu.Host}}).do(0, "PING")
		require.Error(t, err)
	})
}
