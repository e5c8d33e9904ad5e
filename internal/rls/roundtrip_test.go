package rls_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/internal/audit"
	"atrium/internal/rls"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// tracer records the statements pgx sends, one per round trip (the
// statements are prepared by a warm-up first, so no Parse round trip hides).
type tracer struct {
	mu    sync.Mutex
	sent  []string
	count atomic.Int64
}

func (tr *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	tr.count.Add(1)
	tr.mu.Lock()
	tr.sent = append(tr.sent, d.SQL)
	tr.mu.Unlock()
	return ctx
}

func (tr *tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A batch is one round trip; it is recorded as its statements joined by
// " | ".
func (tr *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	tr.count.Add(1)
	qs := make([]string, len(d.Batch.QueuedQueries))
	for i, q := range d.Batch.QueuedQueries {
		qs[i] = q.SQL
	}
	tr.mu.Lock()
	tr.sent = append(tr.sent, strings.Join(qs, " | "))
	tr.mu.Unlock()
	return ctx
}

func (tr *tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (tr *tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (tr *tracer) reset() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.sent
	tr.sent = nil
	tr.count.Store(0)
	return out
}

// tracedClient is an ent client over the rls driver whose pool counts round
// trips, on a migrated database with one tenant, user and conversation.
func tracedClient(tb testing.TB) (*ent.Client, *sql.DB, *tracer, context.Context, uuid.UUID) {
	tb.Helper()
	cfg, err := pgx.ParseConfig(testkit.MigratedPostgresURL(tb))
	require.NoError(tb, err)
	tr := &tracer{}
	cfg.Tracer = tr
	db := rls.OpenDB(*cfg)
	tb.Cleanup(func() { db.Close() })
	c := ent.NewClient(ent.Driver(rls.New(db)))
	ctx := context.Background()
	sys := viewer.System(ctx, viewer.ReasonTest)
	tn, err := c.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).Save(sys)
	require.NoError(tb, err)
	u, err := c.User.Create().SetDisplayName("U").Save(sys)
	require.NoError(tb, err)
	cv, err := c.Conversation.Create().SetTenantID(tn.ID).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).
		Save(viewer.SystemForTenant(ctx, tn.ID, viewer.ReasonTest))
	require.NoError(tb, err)
	member := viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID, TenantID: tn.ID})
	return c, db, tr, member, cv.ID
}

func TestRoundTrips(t *testing.T) {
	t.Parallel()
	c, db, tr, member, conv := tracedClient(t)
	db.SetMaxOpenConns(1) // one connection: its statements are prepared by the warm-up
	sys := viewer.System(member, viewer.ReasonTest)

	t.Run("OKReadOutsideTx", func(t *testing.T) {
		_, err := c.Conversation.Get(member, conv) // warm-up
		require.NoError(t, err)
		tr.reset()
		got, err := c.Conversation.Get(member, conv)
		require.NoError(t, err)
		require.Equal(t, conv, got.ID)
		sent := tr.reset()
		// The settings and the query in one batch, one implicit
		// transaction (before: BEGIN with the settings, the query, COMMIT;
		// before that, four).
		require.Len(t, sent, 1, "%q", sent)
		require.True(t, strings.HasPrefix(sent[0], "SELECT set_config('role', $1, true)"), "%q", sent)
		require.NotContains(t, sent[0], "BEGIN")
	})

	t.Run("OKTxScopeChangeWithRawStatement", func(t *testing.T) {
		run := func() {
			tx, err := c.Tx(member)
			require.NoError(t, err)
			_, err = tx.Conversation.Get(member, conv)
			require.NoError(t, err)
			// A raw statement without arguments under another scope: the
			// settings go with it.
			_, err = tx.ExecContext(sys, "SELECT pg_advisory_xact_lock(42)")
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
		}
		run()
		tr.reset()
		run()
		sent := tr.reset()
		// BEGIN with the settings and the read, the settings with the
		// lock, COMMIT (before: four; before that, six).
		require.Len(t, sent, 3, "%q", sent)
		require.True(t, strings.HasPrefix(sent[0], "BEGIN | SELECT set_config('role', $1, true)"), "%q", sent)
		require.True(t, strings.HasSuffix(sent[1], " | SELECT pg_advisory_xact_lock(42)"), "%q", sent)
		require.Equal(t, "COMMIT", sent[2])
	})

	t.Run("OKAuditedChange", func(t *testing.T) {
		// A change and its audit event: the change with BEGIN, then the
		// chain's lock, the append and COMMIT in one batch, so the chain is
		// never locked across a round trip.
		w := audit.NewWriter(c, dialect.Postgres, slog.New(slog.DiscardHandler))
		run := func(title string) {
			require.NoError(t, w.Change(member, func(tx *ent.Tx) (audit.Event, error) {
				return audit.Event{Action: "test.change", ResourceType: "conversation", ResourceID: conv},
					tx.Conversation.UpdateOneID(conv).SetTitle(title).Exec(member)
			}))
		}
		// The actor's pseudonym is created, then read once and remembered.
		run("first")
		run("second")
		tr.reset()
		run("third")
		sent := tr.reset()
		// BEGIN, the settings and the UPDATE; ent's read of the updated
		// row; the system's settings, the lock, the append and COMMIT.
		require.Len(t, sent, 3, "%q", sent)
		require.True(t, strings.HasPrefix(sent[0], "BEGIN | SELECT set_config('role', $1, true)"), "%q", sent)
		last := sent[2]
		require.True(t, strings.HasPrefix(last, "SELECT set_config('role', $1, true)"), "%q", sent)
		require.Contains(t, last, "pg_advisory_xact_lock")
		require.Contains(t, last, "INSERT INTO audit_events")
		require.True(t, strings.HasSuffix(last, " | COMMIT"), "%q", sent)
		reps, err := audit.Verify(member, c, viewer.FromContext(member).TenantID.String())
		require.NoError(t, err)
		require.Len(t, reps, 1)
		require.Equal(t, 3, reps[0].Events)
		require.Empty(t, reps[0].Problems)
	})

	t.Run("OKEmptyTxSendsNothing", func(t *testing.T) {
		tr.reset()
		tx, err := c.Tx(member)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		tx, err = c.Tx(member)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		require.Empty(t, tr.reset())
	})
}

func TestTxEnd(t *testing.T) {
	t.Parallel()
	c, db, _, member, conv := tracedClient(t)
	db.SetMaxOpenConns(1)

	t.Run("ErrCommitAfterFailedStatement", func(t *testing.T) {
		tx, err := c.Tx(member)
		require.NoError(t, err)
		_, err = tx.ExecContext(member, "SELECT 1/0")
		require.Error(t, err)
		// PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK.
		require.ErrorIs(t, tx.Commit(), rls.ErrCommitRolledBack)
		// The one connection went back clean: the next statement works.
		got, err := c.Conversation.Get(member, conv)
		require.NoError(t, err)
		require.Equal(t, conv, got.ID)
	})

	t.Run("ErrCancelledContextRollsBack", func(t *testing.T) {
		ctx, cancel := context.WithCancel(member)
		tx, err := c.Tx(ctx)
		require.NoError(t, err)
		_, err = tx.Conversation.UpdateOneID(conv).SetTitle("changed").Save(ctx)
		require.NoError(t, err)
		cancel()
		require.ErrorIs(t, tx.Commit(), context.Canceled)
		got, err := c.Conversation.Get(member, conv)
		require.NoError(t, err)
		require.NotEqual(t, "changed", got.Title)
	})

	t.Run("ErrDoneTwice", func(t *testing.T) {
		tx, err := c.Tx(member)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		require.ErrorIs(t, tx.Commit(), sql.ErrTxDone)
	})

	t.Run("OKIsolation", func(t *testing.T) {
		tx, err := c.BeginTx(member, &sql.TxOptions{Isolation: sql.LevelSerializable, ReadOnly: true})
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		rows, err := tx.QueryContext(member, "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only'), current_user")
		require.NoError(t, err)
		defer rows.Close()
		require.True(t, rows.Next())
		var iso, ro, who string
		require.NoError(t, rows.Scan(&iso, &ro, &who))
		require.Equal(t, "serializable", iso)
		require.Equal(t, "on", ro)
		require.Equal(t, rls.Role, who)
	})
}

// BenchmarkRoundTrips reports the round trips of a member's read by id
// outside a transaction and of a transaction of three reads.
func BenchmarkRoundTrips(b *testing.B) {
	c, _, tr, member, conv := tracedClient(b)
	b.Run("read", func(b *testing.B) {
		tr.reset()
		for b.Loop() {
			if _, err := c.Conversation.Get(member, conv); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tr.count.Load())/float64(b.N), "roundtrips/op")
	})
	b.Run("tx3", func(b *testing.B) {
		tr.reset()
		for b.Loop() {
			tx, err := c.Tx(member)
			if err != nil {
				b.Fatal(err)
			}
			for range 3 {
				if _, err := tx.Conversation.Get(member, conv); err != nil {
					b.Fatal(err)
				}
			}
			_ = tx.Commit()
		}
		b.ReportMetric(float64(tr.count.Load())/float64(b.N), "roundtrips/op")
	})
}
