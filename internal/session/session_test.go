package session_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/cache"
	"atrium/internal/session"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// The store starts a cache goroutine; Close must stop it.
func TestMain(m *testing.M) { testkit.MainLeakFree(m) }

// clock is a manual test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

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

// TestLifetimes: a session ends at its idle timeout and at its absolute
// lifetime, read from the injected clock (no sleeping).
func TestLifetimes(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*session.Store, *clock, func() error) {
		db := testkit.SQLite(t)
		clk := &clock{now: time.Now()}
		s := session.NewStore(db.Client, cache.NewLocalBus(), slog.New(slog.NewTextHandler(io.Discard, nil)),
			session.Lifetimes{Idle: 10 * time.Minute, Absolute: time.Hour}, session.WithClock(clk.Now))
		t.Cleanup(s.Close)
		ctx := context.Background()
		sys := viewer.System(ctx, viewer.ReasonTest)
		u, err := db.Client.User.Create().SetDisplayName("Test User").Save(sys)
		require.NoError(t, err)
		tn, err := db.Client.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).Save(sys)
		require.NoError(t, err)
		tx, err := db.Client.Tx(ctx)
		require.NoError(t, err)
		sess, err := s.Create(ctx, tx, session.CreateInput{UserID: u.ID, TenantID: tn.ID, AMR: []string{"hwk"}})
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		return s, clk, func() error { return s.Check(ctx, sess.ID, u.ID, tn.ID) }
	}
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		_, clk, check := setup(t)
		require.NoError(t, check())
		clk.Advance(9 * time.Minute)
		require.NoError(t, check())
	})
	t.Run("ErrIdle", func(t *testing.T) {
		t.Parallel()
		_, clk, check := setup(t)
		require.NoError(t, check())
		clk.Advance(10 * time.Minute)
		require.ErrorIs(t, check(), session.ErrInactive)
	})
	t.Run("ErrAbsolute", func(t *testing.T) {
		t.Parallel()
		_, clk, check := setup(t)
		var elapsed time.Duration
		for range 30 { // in use every 5 min, never idle
			clk.Advance(5 * time.Minute)
			elapsed += 5 * time.Minute
			if err := check(); err != nil {
				require.ErrorIs(t, err, session.ErrInactive)
				require.GreaterOrEqual(t, elapsed, time.Hour, "ended by the absolute lifetime, not idleness")
				return
			}
		}
		t.Fatal("the session outlived its absolute lifetime")
	})
}
