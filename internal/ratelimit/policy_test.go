package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
	"atrium/internal/ratelimit"
)

type policyBundle struct {
	clk    *clock
	policy *ratelimit.Policy
	logs   *logBuffer
}

func setupPolicy(t *testing.T, cfg ratelimit.Config) *policyBundle {
	t.Helper()
	clk := newClock()
	log, logs := newLogger(slog.LevelDebug)
	p, err := ratelimit.NewPolicy(cfg, newLocal(t, ratelimit.WithClock(clk.Now)), log)
	require.NoError(t, err)
	return &policyBundle{clk: clk, policy: p, logs: logs}
}

// requireRateLimited asserts err is the 429 fault with the given Retry-After.
func requireRateLimited(t *testing.T, err error, retryAfter time.Duration) {
	t.Helper()
	fe := fault.As(err)
	require.NotNil(t, fe, "want a *fault.Error, got %v", err)
	require.Equal(t, fault.RateLimited, fe.Code)
	require.Equal(t, "too many requests; retry later", fe.Message)
	require.Equal(t, retryAfter, fe.RetryAfter)
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OKDefaults", func(t *testing.T) {
		t.Parallel()
		cfg := ratelimit.DefaultConfig()
		require.Equal(t, ratelimit.Config{
			PerIP:         ratelimit.PerMinute(30, 10),
			PerCredential: ratelimit.PerMinute(10, 5),
			PerInvitation: ratelimit.PerHour(10, 5),
			PerUser:       ratelimit.PerMinute(30, 10),
		}, cfg)
		require.NoError(t, cfg.Validate())
	})

	t.Run("OKCredential", func(t *testing.T) {
		t.Parallel()
		b := setupPolicy(t, ratelimit.DefaultConfig())
		for range 5 {
			require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeCredential, "cred-1"))
		}
		requireRateLimited(t, b.policy.Check(ctx, ratelimit.ScopeCredential, "cred-1"), 6*time.Second)
		require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeCredential, "cred-2"), "keys are separate")
		require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeInvitation, "cred-1"), "scopes are separate")
		b.clk.Advance(6 * time.Second)
		require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeCredential, "cred-1"))
	})

	t.Run("OKInvitation", func(t *testing.T) {
		t.Parallel()
		b := setupPolicy(t, ratelimit.DefaultConfig())
		for range 5 {
			require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeInvitation, "tok"))
		}
		requireRateLimited(t, b.policy.Check(ctx, ratelimit.ScopeInvitation, "tok"), 6*time.Minute)
	})

	t.Run("OKClientIP", func(t *testing.T) {
		t.Parallel()
		b := setupPolicy(t, ratelimit.Config{PerIP: ratelimit.PerMinute(1, 1)})
		ctxA := ratelimit.WithClientIP(ctx, netip.MustParseAddr("2001:db8:1:2::a"))
		ctxA2 := ratelimit.WithClientIP(ctx, netip.MustParseAddr("2001:db8:1:2::b"))
		ctxB := ratelimit.WithClientIP(ctx, netip.MustParseAddr("2001:db8:1:3::a"))

		require.NoError(t, b.policy.CheckClientIP(ctxA, "loginFinish"))
		requireRateLimited(t, b.policy.CheckClientIP(ctxA, "loginFinish"), time.Minute)
		requireRateLimited(t, b.policy.CheckClientIP(ctxA2, "loginFinish"), time.Minute)
		require.NoError(t, b.policy.CheckClientIP(ctxA, "loginOptions"), "endpoints are separate")
		require.NoError(t, b.policy.CheckClientIP(ctxB, "loginFinish"), "another /64 is another client")
		require.NoError(t, b.policy.CheckClientIP(ctx, "loginFinish"), "no address: the shared 'unknown' key")
	})

	t.Run("OKZeroLimitDisablesScope", func(t *testing.T) {
		t.Parallel()
		b := setupPolicy(t, ratelimit.Config{PerIP: ratelimit.PerMinute(0, 10)})
		for range 100 {
			require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeIP, "k"))
			require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeUser, "k"))
		}
	})

	t.Run("OKLogsNoRawKey", func(t *testing.T) {
		t.Parallel()
		b := setupPolicy(t, ratelimit.Config{PerInvitation: ratelimit.PerHour(1, 1)})
		const token = "inv_SECRET_token_value"
		require.NoError(t, b.policy.Check(ctx, ratelimit.ScopeInvitation, token))
		require.Error(t, b.policy.Check(ctx, ratelimit.ScopeInvitation, token))
		logs := b.logs.String()
		require.Contains(t, logs, "ratelimit: denied")
		require.Contains(t, logs, ratelimit.HashKey("invitation:"+token))
		require.NotContains(t, logs, token)
	})

	t.Run("ErrUnknownScope", func(t *testing.T) {
		t.Parallel()
		b := setupPolicy(t, ratelimit.DefaultConfig())
		require.Equal(t, fault.Internal, fault.CodeOf(b.policy.Check(ctx, "nope", "k")))
	})

	t.Run("ErrLimiterDown", func(t *testing.T) {
		t.Parallel()
		p, err := ratelimit.NewPolicy(ratelimit.DefaultConfig(), &flaky{err: errors.New("boom")}, nil)
		require.NoError(t, err)
		err = p.Check(ctx, ratelimit.ScopeIP, "k")
		require.Equal(t, fault.Unavailable, fault.CodeOf(err))
		require.NotContains(t, fault.As(err).Message, "boom")
	})

	t.Run("ErrInvalidConfig", func(t *testing.T) {
		t.Parallel()
		_, err := ratelimit.NewPolicy(ratelimit.Config{
			PerIP:         ratelimit.Limit{Rate: 1},
			PerCredential: ratelimit.Limit{Rate: -1, Period: time.Second},
		}, newLocal(t), nil)
		require.ErrorContains(t, err, "rate limit ip: period 0s")
		require.ErrorContains(t, err, "rate limit credential: rate -1")
	})
}
