package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

// clock is a manual test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// redisClient connects to url and closes the client at cleanup.
func redisClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(tb, err)
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { rdb.Close() })
	require.NoError(tb, rdb.Ping(context.Background()).Err())
	return rdb
}

// newLocal returns an in-process limiter closed at cleanup.
func newLocal(tb testing.TB, opts ...ratelimit.Option) ratelimit.Limiter {
	tb.Helper()
	l := ratelimit.NewLocal(opts...)
	tb.Cleanup(l.Close)
	return l
}
