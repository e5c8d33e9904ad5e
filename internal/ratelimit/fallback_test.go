package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
)

// flaky is a primary limiter that fails while fail is set and counts calls.
type flaky struct {
	fail  atomic.Bool
	calls atomic.Int64
	err   error
}

func (f *flaky) Close() {}

func (f *flaky) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	f.calls.Add(1)
	if f.err != nil {
		return ratelimit.Result{}, f.err
	}
	if f.fail.Load() {
		return ratelimit.Result{}, errors.New("redis: connection refused")
	}
	return ratelimit.Result{Allowed: true, Remaining: 99}, nil
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(level slog.Level) (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level})), buf
}

type fallbackBundle struct {
	clk     *clock
	primary *flaky
	f       *ratelimit.Fallback
	logs    *logBuffer
}

func setupFallback(t *testing.T) *fallbackBundle {
	t.Helper()
	clk := newClock()
	primary := &flaky{}
	log, logs := newLogger(slog.LevelInfo)
	local := newLocal(t, ratelimit.WithClock(clk.Now))
	f := ratelimit.NewFallback(primary, local, log,
		ratelimit.WithClock(clk.Now), ratelimit.WithProbeInterval(time.Second))
	return &fallbackBundle{clk: clk, primary: primary, f: f, logs: logs}
}

func TestFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lim := ratelimit.PerHour(1, 2)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setupFallback(t)
		res, err := b.f.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, 99, res.Remaining, "answered by the primary")
		require.False(t, b.f.Degraded())
		require.Empty(t, b.logs.String())
	})

	t.Run("OKDegradesAndRecovers", func(t *testing.T) {
		t.Parallel()
		b := setupFallback(t)
		b.primary.fail.Store(true)

		var got []bool
		for range 3 {
			res, err := b.f.Allow(ctx, "k", lim)
			require.NoError(t, err)
			got = append(got, res.Allowed)
		}
		require.Equal(t, []bool{true, true, false}, got, "the local limiter keeps limiting")
		require.True(t, b.f.Degraded())
		require.EqualValues(t, 1, b.primary.calls.Load(), "no primary calls until the probe interval has passed")

		b.clk.Advance(time.Second)
		_, err := b.f.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.EqualValues(t, 2, b.primary.calls.Load(), "one probe")
		require.True(t, b.f.Degraded())

		b.primary.fail.Store(false)
		b.clk.Advance(time.Second)
		res, err := b.f.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.Equal(t, 99, res.Remaining, "answered by the primary again")
		require.False(t, b.f.Degraded())

		logs := b.logs.String()
		require.Equal(t, 1, strings.Count(logs, "primary limiter failing"), logs)
		require.Equal(t, 1, strings.Count(logs, "primary limiter recovered"), logs)
		require.Contains(t, logs, "connection refused")
	})

	t.Run("OKOneProbeAtATime", func(t *testing.T) {
		t.Parallel()
		b := setupFallback(t)
		b.primary.fail.Store(true)
		_, err := b.f.Allow(ctx, "k", lim)
		require.NoError(t, err)
		b.clk.Advance(time.Second)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { b.f.Allow(ctx, "k", lim) })
		}
		wg.Wait()
		require.EqualValues(t, 2, b.primary.calls.Load())
	})

	t.Run("OKRedisStopped", func(t *testing.T) {
		t.Parallel()
		url, stop := testkit.DisposableRedis(t)
		log, logs := newLogger(slog.LevelInfo)
		f := ratelimit.NewFallback(ratelimit.NewRedis(redisClient(t, url)), newLocal(t), log)

		res, err := f.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.True(t, res.Allowed)
		require.False(t, f.Degraded())

		stop()
		var got []bool
		for range 4 {
			res, err := f.Allow(ctx, "k", lim)
			require.NoError(t, err)
			got = append(got, res.Allowed)
		}
		// The local limiter starts afresh: the key's Redis state is gone with Redis.
		require.Equal(t, []bool{true, true, false, false}, got)
		require.True(t, f.Degraded())
		require.Equal(t, 1, strings.Count(logs.String(), "primary limiter failing"))
	})

	t.Run("ErrCanceledDoesNotDegrade", func(t *testing.T) {
		t.Parallel()
		b := setupFallback(t)
		b.primary.err = context.Canceled
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := b.f.Allow(cctx, "k", lim)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, b.f.Degraded())
	})

	t.Run("ErrInvalidLimitDoesNotDegrade", func(t *testing.T) {
		t.Parallel()
		b := setupFallback(t)
		b.primary.err = ratelimit.ErrInvalidLimit
		_, err := b.f.Allow(ctx, "k", lim)
		require.ErrorIs(t, err, ratelimit.ErrInvalidLimit)
		require.False(t, b.f.Degraded())
	})
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("OKWithoutRedis", func(t *testing.T) {
		t.Parallel()
		l := ratelimit.New(nil, nil)
		t.Cleanup(l.Close)
		_, isFallback := l.(*ratelimit.Fallback)
		require.False(t, isFallback)
		res, err := l.Allow(context.Background(), "k", ratelimit.PerMinute(1, 1))
		require.NoError(t, err)
		require.True(t, res.Allowed)
	})

	t.Run("OKWithRedis", func(t *testing.T) {
		t.Parallel()
		l := ratelimit.New(redisClient(t, testkit.RedisURL(t)), nil)
		t.Cleanup(l.Close)
		f, isFallback := l.(*ratelimit.Fallback)
		require.True(t, isFallback)
		res, err := f.Allow(context.Background(), "k", ratelimit.PerMinute(1, 1))
		require.NoError(t, err)
		require.True(t, res.Allowed)
		require.False(t, f.Degraded())
	})
}
