package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	entaudit "atrium/ent/auditevent"
	entsession "atrium/ent/session"
	"atrium/internal/audit"
	"atrium/internal/cache"
	"atrium/internal/session"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// TestSessionsRevokeAll: every session (of one tenant) is revoked in the
// database, one audit event says so, the chain still verifies, and a second
// instance sharing the bus drops its cached sessions at once.
func TestSessionsRevokeAll(t *testing.T) {
	t.Parallel()
	type sess struct{ id, user, tenant uuid.UUID }
	setup := func(t *testing.T) (context.Context, *testkit.NamedDB, [2]*session.Store, *audit.Writer, []sess) {
		db := testkit.SQLite(t)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		bus := cache.NewLocalBus() // both "instances" share it, as they share Redis
		life := session.Lifetimes{Idle: time.Hour, Absolute: 24 * time.Hour}
		a, b := session.NewStore(db.Client, bus, log, life), session.NewStore(db.Client, bus, log, life)
		t.Cleanup(a.Close)
		t.Cleanup(b.Close)
		ctx := context.Background()
		sys := viewer.System(ctx, viewer.ReasonTest)
		var out []sess
		for i := range 2 {
			tn, err := db.Client.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).Save(sys)
			require.NoError(t, err)
			for range 2 {
				u, err := db.Client.User.Create().SetDisplayName("U").Save(sys)
				require.NoError(t, err)
				tx, err := db.Client.Tx(ctx)
				require.NoError(t, err)
				s, err := a.Create(ctx, tx, session.CreateInput{UserID: u.ID, TenantID: tn.ID, AMR: []string{"hwk"}})
				require.NoError(t, err)
				require.NoError(t, tx.Commit())
				out = append(out, sess{s.ID, u.ID, tn.ID})
				// Instance b has the session cached as valid.
				require.NoError(t, b.Check(ctx, s.ID, u.ID, tn.ID))
			}
			_ = i
		}
		return ctx, &testkit.NamedDB{Name: "sqlite", Database: db}, [2]*session.Store{a, b}, audit.NewWriter(db.Client, db.Dialect, log), out
	}
	revoked := func(t *testing.T, db *testkit.NamedDB, id uuid.UUID) bool {
		s, err := db.Client.Session.Get(viewer.System(context.Background(), viewer.ReasonTest), id)
		require.NoError(t, err)
		return s.RevokedAt != nil
	}
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ctx, db, st, w, ss := setup(t)
		n, err := revokeAllSessions(ctx, db.Client, st[0], w, uuid.Nil, "operator_revoke_all")
		require.NoError(t, err)
		require.Equal(t, len(ss), n)
		for _, s := range ss {
			require.True(t, revoked(t, db, s.id))
			// The other instance no longer accepts it: the bus dropped its cache entry.
			require.Error(t, st[1].Check(ctx, s.id, s.user, s.tenant))
		}
		sys := viewer.System(ctx, viewer.ReasonTest)
		ev, err := db.Client.AuditEvent.Query().Where(entaudit.Action(revokedAllAction)).Only(sys)
		require.NoError(t, err)
		require.Equal(t, "4", ev.Details["count"])
		require.Equal(t, "all", ev.Details["scope"])
		reps, err := audit.Verify(sys, db.Client, "")
		require.NoError(t, err)
		for _, r := range reps {
			require.Empty(t, r.Problems, "%+v", r)
		}
		// Idempotent: nothing left to revoke.
		n, err = revokeAllSessions(ctx, db.Client, st[0], w, uuid.Nil, "operator_revoke_all")
		require.NoError(t, err)
		require.Zero(t, n)
	})
	t.Run("OKTenant", func(t *testing.T) {
		t.Parallel()
		ctx, db, st, w, ss := setup(t)
		n, err := revokeAllSessions(ctx, db.Client, st[0], w, ss[0].tenant, "operator_revoke_all")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for _, s := range ss {
			mine := s.tenant == ss[0].tenant
			require.Equal(t, mine, revoked(t, db, s.id))
			require.Equal(t, mine, st[1].Check(ctx, s.id, s.user, s.tenant) != nil)
		}
		sys := viewer.System(ctx, viewer.ReasonTest)
		ev, err := db.Client.AuditEvent.Query().Where(entaudit.Action(revokedAllAction)).Only(sys)
		require.NoError(t, err)
		require.Equal(t, ss[0].tenant, *ev.TenantID)
		left, err := db.Client.Session.Query().Where(entsession.RevokedAtIsNil()).Count(sys)
		require.NoError(t, err)
		require.Equal(t, 2, left)
	})
	t.Run("ErrNoTenant", func(t *testing.T) {
		t.Parallel()
		ctx, db, st, w, _ := setup(t)
		_, err := revokeAllSessions(ctx, db.Client, st[0], w, uuid.New(), "x")
		require.ErrorContains(t, err, "no tenant")
	})
}

// TestSessionsCommand: flags and the whole command on the default SQLite.
func TestSessionsCommand(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	t.Run("ErrNoDatabase", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"sessions", "revoke", "--all"}, &out, &errb))
		require.Contains(t, errb.String(), "no database at")
	})
	t.Run("ErrNoAll", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"sessions", "revoke"}, &out, &errb))
		require.Contains(t, errb.String(), "--all is required")
	})
	t.Run("ErrBadTenant", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"sessions", "revoke", "--all", "--tenant", "acme"}, &out, &errb))
	})
	t.Run("ErrUnknownTenant", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--name", "Other", "--init"}, &out, &errb), errb.String())
		errb.Reset()
		id := uuid.New().String()
		require.Equal(t, exitFail, run(ctx, []string{"sessions", "revoke", "--all", "--tenant", id}, &out, &errb))
		require.Contains(t, errb.String(), "atrium sessions revoke: no tenant "+id+"\n")
	})
	t.Run("OK", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--name", "Acme", "--init"}, &out, &errb), errb.String())
		out.Reset()
		require.Equal(t, exitOK, run(ctx, []string{"sessions", "revoke", "--all"}, &out, &errb), errb.String())
		require.Contains(t, out.String(), "revoked 0 session(s) of every tenant")
	})
}
