package audit_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/auditevent"
	_ "atrium/ent/runtime"
	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fill writes n events in one tenant's chain and returns the chain name.
func fill(t *testing.T, db *app.Database, n int) string {
	t.Helper()
	w := audit.NewWriter(db.Client, db.Dialect, quiet())
	tenant := uuid.Must(uuid.NewV7())
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: tenant})
	for i := range n {
		w.Log(ctx, audit.Event{Action: "test.event", ResourceType: "thing", ResourceID: uuid.Must(uuid.NewV7()),
			Details: map[string]string{"i": string(rune('a' + i%26))}})
	}
	return tenant.String()
}

func verify(t *testing.T, db *app.Database, chain string) audit.ChainReport {
	t.Helper()
	reps, err := audit.Verify(context.Background(), db.Client, chain)
	require.NoError(t, err)
	require.Len(t, reps, 1)
	return reps[0]
}

func TestChain(t *testing.T) {
	t.Parallel()
	for _, ndb := range testkit.Databases(t) {
		t.Run(ndb.Name, func(t *testing.T) {
			t.Parallel()
			db := ndb.Open(t)
			sys := viewer.System(context.Background(), viewer.ReasonTest)
			events := func(chain string) []*ent.AuditEvent {
				evs, err := db.Client.AuditEvent.Query().Where(auditevent.Chain(chain)).Order(ent.Asc(auditevent.FieldSeq)).All(sys)
				require.NoError(t, err)
				return evs
			}
			exec := func(q string, args ...any) {
				if db.Dialect == "postgres" {
					q = rebind(q)
				}
				_, err := db.DB.ExecContext(context.Background(), q, args...)
				require.NoError(t, err)
			}
			t.Run("OK", func(t *testing.T) {
				chain := fill(t, db, 5)
				rep := verify(t, db, chain)
				require.Equal(t, 5, rep.Events)
				require.Empty(t, rep.Problems)
			})
			t.Run("ErrEdited", func(t *testing.T) {
				chain := fill(t, db, 5)
				ev := events(chain)[2]
				exec("UPDATE audit_events SET action = ? WHERE id = ?", "test.forged", ev.ID)
				rep := verify(t, db, chain)
				require.Len(t, rep.Problems, 1)
				require.Equal(t, audit.Problem{Chain: chain, Seq: 3, ID: ev.ID.String(), Kind: "edited"}, rep.Problems[0])
			})
			t.Run("ErrDeleted", func(t *testing.T) {
				chain := fill(t, db, 5)
				ev := events(chain)[1]
				exec("DELETE FROM audit_events WHERE id = ?", ev.ID)
				rep := verify(t, db, chain)
				require.NotEmpty(t, rep.Problems)
				require.Equal(t, "missing", rep.Problems[0].Kind)
				require.Equal(t, int64(2), rep.Problems[0].Seq)
			})
			t.Run("ErrReordered", func(t *testing.T) {
				chain := fill(t, db, 5)
				evs := events(chain)
				// Swap the positions of events 2 and 3.
				exec("UPDATE audit_events SET seq = ? WHERE id = ?", 100, evs[1].ID)
				exec("UPDATE audit_events SET seq = ? WHERE id = ?", 2, evs[2].ID)
				exec("UPDATE audit_events SET seq = ? WHERE id = ?", 3, evs[1].ID)
				rep := verify(t, db, chain)
				require.NotEmpty(t, rep.Problems)
				kinds := map[string]bool{}
				for _, p := range rep.Problems {
					kinds[p.Kind] = true
				}
				require.True(t, kinds["reordered"] || kinds["edited"], "problems: %v", rep.Problems)
			})
			t.Run("OK/ConcurrentWriters", func(t *testing.T) {
				w := audit.NewWriter(db.Client, db.Dialect, quiet())
				tenant := uuid.Must(uuid.NewV7())
				ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: tenant})
				var wg sync.WaitGroup
				for range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						w.Log(ctx, audit.Event{Action: "test.concurrent"})
					}()
				}
				wg.Wait()
				rep := verify(t, db, tenant.String())
				require.Equal(t, 16, rep.Events, "no event lost")
				require.Empty(t, rep.Problems)
			})
			t.Run("OK/TwoInstancesOneChain", func(t *testing.T) {
				// Two writers (two server instances) append to one chain, in
				// turns and at once: each one's memory of the last link goes
				// stale, and the chain must stay whole.
				w1 := audit.NewWriter(db.Client, db.Dialect, quiet())
				w2 := audit.NewWriter(db.Client, db.Dialect, quiet())
				tenant := uuid.Must(uuid.NewV7())
				ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()),
					TenantID: tenant, SessionID: uuid.Must(uuid.NewV7())})
				ev := audit.Event{Action: "test.two", ResourceType: "conversation", ResourceID: uuid.Must(uuid.NewV7()),
					Details: map[string]string{"b": "2", "a": "1"}}
				for _, w := range []*audit.Writer{w1, w1, w2, w1, w2, w2, w1} {
					w.Log(ctx, ev)
				}
				var wg sync.WaitGroup
				for i := range 12 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						[]*audit.Writer{w1, w2}[i%2].Log(ctx, ev)
					}()
				}
				wg.Wait()
				rep := verify(t, db, tenant.String())
				require.Equal(t, 19, rep.Events, "no event lost")
				require.Empty(t, rep.Problems)
			})
			t.Run("OK/ReaderVerifyStopsAtFirstBreak", func(t *testing.T) {
				chain := fill(t, db, 5)
				tctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: uuid.MustParse(chain)})
				lim := &fakeLimiter{}
				r := audit.NewReader(db.Client).WithVerifyLimit(lim)
				rep, err := r.Verify(tctx)
				require.NoError(t, err)
				require.Equal(t, audit.ChainReport{Chain: chain, Events: 5, Head: 5}, rep)
				require.Equal(t, []string{"user|audit-verify:" + chain}, lim.keys, "counted per tenant")

				ev := events(chain)[2]
				exec("UPDATE audit_events SET action = ? WHERE id = ?", "test.forged", ev.ID)
				exec("UPDATE audit_events SET action = ? WHERE id = ?", "test.forged", events(chain)[3].ID)
				rep, err = r.Verify(tctx)
				require.NoError(t, err)
				require.Equal(t, audit.ChainReport{Chain: chain, Events: 3, Head: 3,
					Problems: []audit.Problem{{Chain: chain, Seq: 3, ID: ev.ID.String(), Kind: "edited"}}}, rep)
			})
			t.Run("ErrReaderVerifyLimited", func(t *testing.T) {
				chain := fill(t, db, 1)
				tctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: uuid.MustParse(chain)})
				limited := &fault.Error{Code: fault.RateLimited, Message: "too many requests; retry later"}
				_, err := audit.NewReader(db.Client).WithVerifyLimit(&fakeLimiter{err: limited}).Verify(tctx)
				require.ErrorIs(t, err, limited)
			})
			t.Run("ErrReaderVerifyCancelled", func(t *testing.T) {
				chain := fill(t, db, 1)
				tctx, cancel := context.WithCancel(viewer.NewContext(context.Background(),
					&viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: uuid.MustParse(chain)}))
				cancel()
				_, err := audit.NewReader(db.Client).Verify(tctx)
				require.Error(t, err)
				require.Equal(t, fault.Unavailable, fault.As(err).Code)
			})
			t.Run("ErrReaderVerifyNoTenant", func(t *testing.T) {
				_, err := audit.NewReader(db.Client).Verify(context.Background())
				require.Equal(t, fault.Forbidden, fault.As(err).Code)
			})
			t.Run("OK/DetailsAndFormat", func(t *testing.T) {
				// Details that need quoting reach the database intact, and
				// every new event is in format 2, linked by the database on
				// PostgreSQL and by the writer on SQLite to the same hash.
				w := audit.NewWriter(db.Client, db.Dialect, quiet())
				tenant := uuid.Must(uuid.NewV7())
				ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: tenant})
				for _, d := range []string{"plain", "it's \\ \"quoted\" 日本語 🎉", `{"json":1}`} {
					require.NoError(t, w.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
						return audit.Event{Action: "test.details", ResourceID: uuid.Must(uuid.NewV7()), Details: map[string]string{"d": d}}, nil
					}))
				}
				evs := events(tenant.String())
				require.Len(t, evs, 3)
				require.Equal(t, "it's \\ \"quoted\" 日本語 🎉", evs[1].Details["d"])
				require.Equal(t, `{"json":1}`, evs[2].Details["d"])
				var prev []byte
				for i, e := range evs {
					require.Equal(t, int16(audit.LinkVersion), e.HashVersion)
					require.Equal(t, int64(i+1), e.Seq)
					require.Equal(t, prev, e.PrevHash)
					prev = e.Hash
				}
				rep := verify(t, db, tenant.String())
				require.Equal(t, 3, rep.Events)
				require.Empty(t, rep.Problems)
			})
			t.Run("OK/FormatOneThenTwo", func(t *testing.T) {
				// A chain written in format 1 (before this release) goes on
				// in format 2, and a previous release's instance appending
				// format 1 in between (a rolling upgrade) keeps it whole.
				chain := fill(t, db, 4)
				evs := events(chain)
				var prev []byte
				for i, version := range []int{1, 1, 2, 1} {
					e := evs[i]
					e.PrevHash = prev
					c := audit.CanonicalOf(e)
					h := c.Hash()
					if version == audit.LinkVersion {
						h = c.Link()
					}
					exec("UPDATE audit_events SET hash_version = ?, hash = ?, prev_hash = ? WHERE id = ?", version, h[:], prev, e.ID)
					prev = h[:]
				}
				fill2 := audit.NewWriter(db.Client, db.Dialect, quiet())
				fill2.Log(viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: uuid.MustParse(chain)}),
					audit.Event{Action: "test.after_v1"})
				rep := verify(t, db, chain)
				require.Equal(t, 5, rep.Events)
				require.Empty(t, rep.Problems)

				t.Run("ErrVersionFlipped", func(t *testing.T) {
					// Claiming another format does not pass an event off.
					exec("UPDATE audit_events SET hash_version = 2 WHERE id = ?", evs[0].ID)
					exec("UPDATE audit_events SET hash_version = 7 WHERE id = ?", evs[3].ID)
					rep := verify(t, db, chain)
					require.Equal(t, []audit.Problem{
						{Chain: chain, Seq: 1, ID: evs[0].ID.String(), Kind: "edited"},
						{Chain: chain, Seq: 4, ID: evs[3].ID.String(), Kind: "edited"},
					}, rep.Problems)
				})
			})
			t.Run("ErrEditedSeqFormatTwo", func(t *testing.T) {
				// seq is bound by the link, not the content hash: moving an
				// event's number (and the rest up) shows.
				chain := fill(t, db, 3)
				ev := events(chain)[2]
				exec("UPDATE audit_events SET seq = 4 WHERE id = ?", ev.ID)
				rep := verify(t, db, chain)
				require.Contains(t, rep.Problems, audit.Problem{Chain: chain, Seq: 4, ID: ev.ID.String(), Kind: "edited"})
			})
			t.Run("OK/RolledBackAppend", func(t *testing.T) {
				// An append rolled back with its transaction leaves no link.
				w := audit.NewWriter(db.Client, db.Dialect, quiet())
				tenant := uuid.Must(uuid.NewV7())
				ctx := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: tenant})
				w.Log(ctx, audit.Event{Action: "test.first"})
				err := w.Change(ctx, func(tx *ent.Tx) (audit.Event, error) { return audit.Event{Action: "test.lost"}, nil })
				require.NoError(t, err)
				tx, err := db.Client.Tx(ctx)
				require.NoError(t, err)
				require.NoError(t, w.Record(ctx, tx, audit.Event{Action: "test.rolled_back"}))
				require.NoError(t, tx.Rollback())
				w.Log(ctx, audit.Event{Action: "test.after"})
				rep := verify(t, db, tenant.String())
				require.Equal(t, 3, rep.Events)
				require.Empty(t, rep.Problems)
			})
		})
	}
}

type fakeLimiter struct {
	keys []string
	err  error
}

func (f *fakeLimiter) Check(_ context.Context, scope, key string) error {
	f.keys = append(f.keys, scope+"|"+key)
	return f.err
}

// rebind turns ? placeholders into $1, $2, … for PostgreSQL.
func rebind(q string) string {
	out := make([]byte, 0, len(q)+8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, '$')
			out = append(out, []byte(itoa(n))...)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestPrune(t *testing.T) {
	t.Parallel()
	for _, ndb := range testkit.Databases(t) {
		t.Run(ndb.Name, func(t *testing.T) {
			t.Parallel()
			db := ndb.Open(t)
			ctx := context.Background()
			chain := fill(t, db, 6)
			sys := viewer.System(ctx, viewer.ReasonTest)
			evs, err := db.Client.AuditEvent.Query().Where(auditevent.Chain(chain)).Order(ent.Asc(auditevent.FieldSeq)).All(sys)
			require.NoError(t, err)
			cutoff := evs[3].OccurredAt // events 1-3 are older
			reps, err := audit.Prune(ctx, db.Client, cutoff)
			require.NoError(t, err)
			var mine audit.PruneReport
			for _, r := range reps {
				if r.Chain == chain {
					mine = r
				}
			}
			require.Equal(t, 3, mine.Removed)
			require.Equal(t, int64(3), mine.Anchor)
			rep := verify(t, db, chain)
			require.Equal(t, 3, rep.Events)
			require.Empty(t, rep.Problems, "the rest verifies from the anchor")

			t.Run("ErrDeletingTheNewFirstEvent", func(t *testing.T) {
				q := "DELETE FROM audit_events WHERE id = ?"
				if db.Dialect == "postgres" {
					q = rebind(q)
				}
				_, err := db.DB.ExecContext(ctx, q, evs[3].ID)
				require.NoError(t, err)
				rep := verify(t, db, chain)
				require.NotEmpty(t, rep.Problems)
				require.Equal(t, "missing", rep.Problems[0].Kind)
			})
			t.Run("OKPrunedToNothingGoesOn", func(t *testing.T) {
				// A chain whose every event is pruned goes on from its
				// anchor, not from 1.
				other := fill(t, db, 2)
				last, err := db.Client.AuditEvent.Query().Where(auditevent.Chain(other)).
					Order(ent.Desc(auditevent.FieldSeq)).First(sys)
				require.NoError(t, err)
				_, err = audit.Prune(ctx, db.Client, last.OccurredAt.Add(time.Second))
				require.NoError(t, err)
				n, err := db.Client.AuditEvent.Query().Where(auditevent.Chain(other)).Count(sys)
				require.NoError(t, err)
				require.Zero(t, n)
				w := audit.NewWriter(db.Client, db.Dialect, quiet())
				w.Log(viewer.NewContext(ctx, &viewer.Viewer{UserID: uuid.Must(uuid.NewV7()), TenantID: uuid.MustParse(other)}),
					audit.Event{Action: "test.after_prune"})
				rep := verify(t, db, other)
				require.Equal(t, audit.ChainReport{Chain: other, Events: 1, Head: 3}, rep)
			})
		})
	}
}
