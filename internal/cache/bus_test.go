package cache_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"atrium/internal/cache"
	"atrium/internal/testkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// resets records the resets a bus asked for.
type resets struct {
	mu  sync.Mutex
	got []cache.Reset
}

func (r *resets) fn(_ context.Context, why cache.Reset) error {
	r.mu.Lock()
	r.got = append(r.got, why)
	r.mu.Unlock()
	return nil
}

func (r *resets) has(why cache.Reset) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.got {
		if g == why {
			return true
		}
	}
	return false
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, msg)
}

type bundle struct {
	m      *miniredis.Miniredis
	a, b   *cache.RedisBus
	ra, rb *resets
}

func setup(t *testing.T) *bundle {
	t.Helper()
	m := miniredis.RunT(t)
	bus := func() (*cache.RedisBus, *resets) {
		rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
		b := cache.NewRedisBus(rdb, quiet, cache.RedisOptions{PingEvery: 50 * time.Millisecond})
		r := &resets{}
		b.OnReset(r.fn)
		t.Cleanup(func() {
			b.Close()
			rdb.Close()
		})
		return b, r
	}
	bu := &bundle{m: m}
	bu.a, bu.ra = bus()
	bu.b, bu.rb = bus()
	return bu
}

func TestRedisBus(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		require.True(t, bu.a.Healthy())
		got := make(chan string, 1)
		bu.b.Subscribe("topic", func(msg string) { got <- msg })
		require.NoError(t, bu.a.Publish(context.Background(), "topic", "hello"))
		select {
		case msg := <-got:
			require.Equal(t, "hello", msg)
		case <-time.After(2 * time.Second):
			t.Fatal("message not delivered")
		}
	})

	t.Run("OKDegradedThenResynchronised", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		bu.m.Close()
		eventually(t, func() bool { return !bu.a.Healthy() && !bu.b.Healthy() }, "the buses did not notice that Redis is gone")
		require.True(t, bu.ra.has(cache.ResetDegraded))
		require.Error(t, bu.a.Publish(context.Background(), "topic", "lost"))

		require.NoError(t, bu.m.Restart())
		eventually(t, func() bool { return bu.a.Healthy() && bu.b.Healthy() }, "the buses did not recover")
		// Messages may have been lost while Redis was away: each bus makes
		// its handlers resynchronise, and everybody refreshes.
		eventually(t, func() bool { return bu.ra.has(cache.ResetResync) && bu.rb.has(cache.ResetRefresh) }, "no resync after recovery")

		got := make(chan string, 1)
		bu.b.Subscribe("topic", func(msg string) { got <- msg })
		require.NoError(t, bu.a.Publish(context.Background(), "topic", "again"))
		select {
		case msg := <-got:
			require.Equal(t, "again", msg)
		case <-time.After(2 * time.Second):
			t.Fatal("message not delivered after recovery")
		}
	})

	t.Run("OKLostAnnouncedWhileHealthy", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		bu.a.Lost()
		eventually(t, func() bool { return bu.ra.has(cache.ResetResync) && bu.rb.has(cache.ResetRefresh) }, "a lost invalidation was not resynchronised")
		require.False(t, bu.rb.has(cache.ResetDegraded))
	})
}

func TestLocalBus(t *testing.T) {
	t.Parallel()
	b := cache.NewLocalBus()
	require.True(t, b.Healthy())
	var got string
	b.Subscribe("topic", func(msg string) { got = msg })
	require.NoError(t, b.Publish(context.Background(), "topic", "hello"))
	require.Equal(t, "hello", got)
}

// TestRedisBusBlackholed: Redis accepts connections and never answers (a
// hung server, a partition that drops packets). Once the bus knows it is
// unhealthy, Publish sends Redis nothing and returns at once; the loss is
// recorded for the resynchronisation.
func TestRedisBusBlackholed(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	bh := testkit.NewBlackhole(t, m.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: bh.Addr()})
	b := cache.NewRedisBus(rdb, quiet, cache.RedisOptions{PingEvery: 50 * time.Millisecond})
	t.Cleanup(func() {
		rdb.Close()
		b.Close()
	})
	require.True(t, b.Healthy())

	bh.Freeze()
	frozeAt := time.Now()
	eventually(t, func() bool { return !b.Healthy() }, "the bus did not notice the silent Redis")
	t.Logf("unhealthy %s after the freeze", time.Since(frozeAt).Round(time.Millisecond))
	t.Run("ErrUnhealthyWithoutCallingRedis", func(t *testing.T) {
		// No deadline: a publish that went to Redis would hang on go-redis's
		// own timeouts and retries, and the blackhole would see it.
		err := b.Publish(context.Background(), "session.revoke", "x")
		require.ErrorIs(t, err, cache.ErrUnhealthy)
		require.Zero(t, bh.Swallowed("publish"), "a publish was sent to a Redis known to be down")
	})
}
