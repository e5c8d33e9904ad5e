package realtime_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"atrium/internal/cache"
	"atrium/internal/realtime"
	"atrium/internal/testkit"
)

// redisHub is one instance: its own Redis client, bus and hub.
func (b *testBundle) redisHub(t *testing.T, redisURL string) (*realtime.Hub, *httptest.Server) {
	t.Helper()
	o, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(o)
	bus := cache.NewRedisBus(rdb, slog.New(slog.DiscardHandler), cache.RedisOptions{PingEvery: 200 * time.Millisecond})
	require.True(t, bus.Healthy())
	h := realtime.NewHub(b.auth, b.authz, bus, nil)
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		require.NoError(t, h.Close(context.Background()))
		srv.Close()
		bus.Close()
		rdb.Close()
	})
	return h, srv
}

func TestCrossInstanceRedis(t *testing.T) {
	t.Parallel()
	b := setup(t)
	url := testkit.RedisURL(t)
	hubA, _ := b.redisHub(t, url)
	_, srvB := b.redisHub(t, url)
	tenant, conv := uuid.New(), uuid.New()
	u, other := b.user(tenant), b.user(uuid.New())
	b.authz.set(u.p.UserID, conv, true)
	b.authz.set(other.p.UserID, conv, true)

	c := mustDial(t, srvB, u.token)
	co := mustDial(t, srvB, other.token)
	mustSubscribe(t, c, conv)
	mustSubscribe(t, co, conv)
	require.NoError(t, hubA.Publish(t.Context(), created(tenant, conv, "via redis")))
	require.JSONEq(t, `{"text":"via redis"}`, string(mustRead(t, c).Data))
	_, err := read(t, co, 300*time.Millisecond)
	require.Error(t, err, "other tenant received the event")
}
