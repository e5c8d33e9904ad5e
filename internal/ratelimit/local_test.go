package ratelimit_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/internal/ratelimit"
)

func TestLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		l := newLocal(t, ratelimit.WithClock(clk.Now))
		lim := ratelimit.PerMinute(10, 3) // one every 6 s after a burst of 3

		for _, remaining := range []int{2, 1, 0} {
			res, err := l.Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.Equal(t, ratelimit.Result{Allowed: true, Remaining: remaining}, res)
		}
		res, err := l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{RetryAfter: 6 * time.Second}, res)

		clk.Advance(6*time.Second - time.Millisecond)
		res, err = l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{RetryAfter: time.Millisecond}, res, "a denied request costs nothing")

		clk.Advance(time.Millisecond)
		res, err = l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{Allowed: true}, res)

		clk.Advance(time.Hour)
		res, err = l.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 2}, res, "an idle key gets its burst back, no more")
	})

	t.Run("OKKeysIndependent", func(t *testing.T) {
		t.Parallel()
		l := newLocal(t, ratelimit.WithClock(newClock().Now))
		lim := ratelimit.PerHour(1, 1)
		for _, key := range []string{"a", "b"} {
			res, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.True(t, res.Allowed, key)
		}
		res, err := l.Allow(ctx, "a", lim)
		require.NoError(t, err)
		require.False(t, res.Allowed)
		require.Equal(t, time.Hour, res.RetryAfter)
	})

	t.Run("OKZeroLimitUnlimited", func(t *testing.T) {
		t.Parallel()
		l := newLocal(t)
		for range 100 {
			res, err := l.Allow(ctx, "k", ratelimit.Limit{})
			require.NoError(t, err)
			require.True(t, res.Allowed)
		}
	})

	t.Run("OKConcurrent", func(t *testing.T) {
		t.Parallel()
		l := newLocal(t)
		lim := ratelimit.PerHour(1, 50)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				for range 10 {
					res, err := l.Allow(ctx, "shared", lim)
					if err == nil && res.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		require.EqualValues(t, 50, allowed.Load())
	})

	t.Run("OKBoundedKeys", func(t *testing.T) {
		t.Parallel()
		l := newLocal(t, ratelimit.WithMaxKeys(100))
		for i := range 10_000 {
			_, err := l.Allow(ctx, strconv.Itoa(i), ratelimit.PerHour(1, 1))
			require.NoError(t, err)
		}
	})

	t.Run("ErrInvalidLimit", func(t *testing.T) {
		t.Parallel()
		l := newLocal(t)
		for _, lim := range []ratelimit.Limit{
			{Rate: -1, Period: time.Second, Burst: 1},
			{Rate: 1, Burst: 1},
			{Rate: 1, Period: time.Second, Burst: -1},
		} {
			_, err := l.Allow(ctx, "k", lim)
			require.ErrorIs(t, err, ratelimit.ErrInvalidLimit, lim)
		}
	})
}

func TestLimit(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, ratelimit.Limit{Rate: 30, Period: time.Minute, Burst: 10}, ratelimit.PerMinute(30, 10))
		require.Equal(t, ratelimit.Limit{Rate: 5, Period: time.Second, Burst: 2}, ratelimit.PerSecond(5, 2))
		require.Equal(t, ratelimit.Limit{Rate: 10, Period: time.Hour, Burst: 5}, ratelimit.PerHour(10, 5))
		require.NoError(t, ratelimit.Limit{}.Validate())
		require.True(t, ratelimit.PerMinute(0, 10).Unlimited(), "rate 0 turns a limit off")
		require.NoError(t, ratelimit.PerMinute(0, 10).Validate())
		require.Equal(t, "unlimited", ratelimit.Limit{}.String())
		require.Equal(t, "30 per 1m0s, burst 10", ratelimit.PerMinute(30, 10).String())
		require.Equal(t, "3 per 1s, burst 1", ratelimit.PerSecond(3, 0).String(), "burst below 1 counts as 1")
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		err := ratelimit.Limit{Rate: -1}.Validate()
		require.ErrorContains(t, err, "rate -1 must not be negative")
		err = ratelimit.Limit{Rate: 1, Burst: -2}.Validate()
		require.ErrorContains(t, err, "period 0s must be positive")
		require.ErrorContains(t, err, "burst -2 must not be negative")
	})
}
