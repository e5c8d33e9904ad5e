package ratelimit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
)

func TestRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		requireBurstThenLimit(t, ratelimit.NewRedis(redisClient(t, testkit.RedisURL(t))))
	})

	t.Run("OKMiniredis", func(t *testing.T) {
		t.Parallel()
		m := miniredis.RunT(t)
		requireBurstThenLimit(t, ratelimit.NewRedis(redisClient(t, "redis://"+m.Addr())))
	})

	t.Run("OKRetryAfter", func(t *testing.T) {
		t.Parallel()
		// The limiter judges by the Redis server's clock; miniredis's clock
		// is set by the test, so time moves without waiting for it.
		m := miniredis.RunT(t)
		t0 := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
		m.SetTime(t0)
		l := ratelimit.NewRedis(redisClient(t, "redis://"+m.Addr()))
		lim := ratelimit.PerSecond(5, 1) // one every 200 ms
		res, err := l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.True(t, res.Allowed)
		res, err = l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.False(t, res.Allowed)
		require.Positive(t, res.RetryAfter)
		require.LessOrEqual(t, res.RetryAfter, 200*time.Millisecond)

		m.SetTime(t0.Add(res.RetryAfter - time.Millisecond))
		early, err := l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.False(t, early.Allowed, "refused just before RetryAfter has passed")

		m.SetTime(t0.Add(res.RetryAfter))
		m.FastForward(res.RetryAfter)
		res, err = l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.True(t, res.Allowed, "allowed once RetryAfter has passed")
	})

	t.Run("OKKeysHashed", func(t *testing.T) {
		t.Parallel()
		rdb := redisClient(t, testkit.RedisURL(t))
		l := ratelimit.NewRedis(rdb)
		raw := []string{"invitation:AbCdEf-secret-token", "ip:loginFinish|192.0.2.1"}
		for _, key := range raw {
			_, err := l.Allow(ctx, key, ratelimit.PerHour(10, 5))
			require.NoError(t, err)
		}
		stored, err := rdb.Keys(ctx, "*").Result()
		require.NoError(t, err)
		require.ElementsMatch(t, []string{
			ratelimit.KeyPrefix + ratelimit.HashKey(raw[0]),
			ratelimit.KeyPrefix + ratelimit.HashKey(raw[1]),
		}, stored)
		for _, k := range stored {
			for _, r := range raw {
				require.NotContains(t, k, r)
				require.NotContains(t, k, "192.0.2.1")
				require.NotContains(t, k, "secret")
			}
			ttl, err := rdb.PTTL(ctx, k).Result()
			require.NoError(t, err)
			require.Positive(t, ttl, "every key expires")
			require.LessOrEqual(t, ttl, 6*time.Minute, "a key lives no longer than its state matters")
		}
	})

	t.Run("OKAgreesWithLocal", func(t *testing.T) {
		t.Parallel()
		r := ratelimit.NewRedis(redisClient(t, testkit.RedisURL(t)))
		l := newLocal(t)
		lim := ratelimit.PerHour(10, 4)
		for i, key := range strings.Split("a a b a a a b b b b b a", " ") {
			want, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			got, err := r.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.Equal(t, want.Allowed, got.Allowed, "request %d", i)
			require.Equal(t, want.Remaining, got.Remaining, "request %d", i)
			require.InDelta(t, want.RetryAfter, got.RetryAfter, float64(time.Second), "request %d", i)
		}
	})

	t.Run("ErrInvalidLimit", func(t *testing.T) {
		t.Parallel()
		l := ratelimit.NewRedis(redisClient(t, testkit.RedisURL(t)))
		_, err := l.Allow(ctx, "k", ratelimit.Limit{Rate: 1})
		require.ErrorIs(t, err, ratelimit.ErrInvalidLimit)
	})

	t.Run("ErrRedisDown", func(t *testing.T) {
		t.Parallel()
		url, stop := testkit.DisposableRedis(t)
		l := ratelimit.NewRedis(redisClient(t, url))
		stop()
		_, err := l.Allow(ctx, "k", ratelimit.PerMinute(1, 1))
		require.Error(t, err)
	})
}

// requireBurstThenLimit checks a limiter on real time with a limit slow
// enough that the test's own duration does not matter.
func requireBurstThenLimit(t *testing.T, l ratelimit.Limiter) {
	t.Helper()
	ctx := context.Background()
	lim := ratelimit.PerMinute(10, 3) // one every 6 s after a burst of 3
	for _, remaining := range []int{2, 1, 0} {
		res, err := l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{Allowed: true, Remaining: remaining}, res)
	}
	for range 2 {
		res, err := l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.False(t, res.Allowed)
		require.Zero(t, res.Remaining)
		require.InDelta(t, 6*time.Second, res.RetryAfter, float64(time.Second))
	}
	res, err := l.Allow(ctx, "other", lim)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 2}, res)
}
