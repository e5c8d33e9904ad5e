package rls_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"atrium/ent/conversation"
	"atrium/internal/rls"
	"atrium/internal/viewer"
)

func TestDeferred(t *testing.T) {
	t.Parallel()
	c, db, tr, member, conv := tracedClient(t)
	db.SetMaxOpenConns(1) // one connection: each subtest sees whether the last left it clean
	sys := viewer.System(member, viewer.ReasonTest)
	title := func() string {
		t.Helper()
		got, err := c.Conversation.Get(member, conv)
		require.NoError(t, err)
		return got.Title
	}
	// seen reads what a deferred statement ran as: it records the settings
	// in a session variable that outlives the transaction.
	const record = "SELECT set_config('test.seen', current_user || '/' || current_setting('app.system') || '/' || current_setting('app.tenant_id'), false)"
	seen := func() string {
		t.Helper()
		var s string
		require.NoError(t, db.QueryRowContext(context.Background(), "SELECT current_setting('test.seen', true)").Scan(&s))
		return s
	}

	t.Run("OKDeferredUntilCommit", func(t *testing.T) {
		tx, err := c.Tx(member)
		require.NoError(t, err)
		_, err = tx.Conversation.UpdateOneID(conv).SetTitle("deferred").Save(member)
		require.NoError(t, err)
		tr.reset()
		res, err := tx.ExecContext(rls.Deferred(sys), record)
		require.NoError(t, err)
		_, err = res.RowsAffected()
		require.Error(t, err, "a deferred statement's result is not known before the commit")
		require.Empty(t, tr.reset(), "nothing sent before the commit")
		require.NoError(t, tx.Commit())
		sent := tr.reset()
		// The system's settings, the deferred statement and COMMIT: one round trip.
		require.Len(t, sent, 1, "%q", sent)
		require.True(t, strings.HasPrefix(sent[0], "SELECT set_config('role', $1, true)"), "%q", sent)
		require.True(t, strings.HasSuffix(sent[0], " | COMMIT"), "%q", sent)
		require.Equal(t, rls.Role+"/on/", seen(), "the deferred statement ran with its own context's scope")
		require.Equal(t, "deferred", title())
	})

	t.Run("OKDeferredOnlyBeginsInTheBatch", func(t *testing.T) {
		tx, err := c.Tx(member)
		require.NoError(t, err)
		tr.reset()
		_, err = tx.ExecContext(rls.Deferred(member), record)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		sent := tr.reset()
		require.Len(t, sent, 1, "%q", sent)
		require.True(t, strings.HasPrefix(sent[0], "BEGIN | SELECT set_config('role', $1, true)"), "%q", sent)
		require.Equal(t, rls.Role+"//"+viewer.FromContext(member).TenantID.String(), seen())
	})

	t.Run("ErrDeferredFailsRollsBackAll", func(t *testing.T) {
		before := title()
		tx, err := c.Tx(member)
		require.NoError(t, err)
		_, err = tx.Conversation.UpdateOneID(conv).SetTitle("must not commit").Save(member)
		require.NoError(t, err)
		_, err = tx.ExecContext(rls.Deferred(sys), "SELECT 1/0")
		require.NoError(t, err)
		_, err = tx.ExecContext(rls.Deferred(sys), record+" -- never runs")
		require.NoError(t, err)
		err = tx.Commit()
		require.ErrorIs(t, err, rls.ErrDeferred)
		require.Contains(t, err.Error(), "division by zero")
		// The change rolled back with it, and the one connection is clean.
		require.Equal(t, before, title())
	})

	t.Run("OKSentWithNextStatement", func(t *testing.T) {
		// A statement after a deferred one takes it along: one round trip,
		// and the statement sees what the deferred one did.
		tx, err := c.Tx(member)
		require.NoError(t, err)
		_, err = tx.Conversation.Get(member, conv)
		require.NoError(t, err)
		_, err = tx.ExecContext(rls.Deferred(sys), "SELECT set_config('test.inner', 'before', true)")
		require.NoError(t, err)
		tr.reset()
		rows, err := tx.QueryContext(member, "SELECT current_setting('test.inner', true), current_setting('app.system')")
		require.NoError(t, err)
		require.True(t, rows.Next())
		var inner, system string
		require.NoError(t, rows.Scan(&inner, &system))
		require.NoError(t, rows.Close())
		require.Equal(t, "before", inner)
		require.Empty(t, system, "the statement runs as the member again")
		sent := tr.reset()
		require.Len(t, sent, 1, "%q", sent)
		require.Equal(t, 2, strings.Count(sent[0], "SELECT set_config('role', $1, true)"), "%q", sent)
		tr.reset()
		require.NoError(t, tx.Commit())
		require.Equal(t, []string{"COMMIT"}, tr.reset(), "nothing left to send with COMMIT")
	})

	t.Run("ErrDeferredQueryRefused", func(t *testing.T) {
		tx, err := c.Tx(member)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		_, err = tx.QueryContext(rls.Deferred(member), "SELECT 1")
		require.Error(t, err)
		_, err = tx.Conversation.Query().All(rls.Deferred(member))
		require.Error(t, err)
		// ent's updates and deletes count the rows they changed.
		_, err = tx.Conversation.UpdateOneID(conv).SetTitle("x").Save(rls.Deferred(member))
		require.Error(t, err)
		_, err = tx.Conversation.Delete().Where(conversation.ID(conv)).Exec(rls.Deferred(member))
		require.Error(t, err)
	})

	t.Run("OKEntCreateDeferred", func(t *testing.T) {
		// An ent create of a row whose id ent set wants no result back:
		// it goes with COMMIT, and Save returns the row it built.
		tx, err := c.Tx(member)
		require.NoError(t, err)
		tr.reset()
		m, err := tx.Message.Create().SetConversationID(conv).SetRole("user").SetContent("deferred").
			Save(rls.Deferred(viewer.WithCheckedRef(member, "conversation_id", conv)))
		require.NoError(t, err)
		require.Empty(t, tr.reset(), "nothing sent before the commit")
		require.NoError(t, tx.Commit())
		sent := tr.reset()
		require.Len(t, sent, 1, "%q", sent)
		require.True(t, strings.HasPrefix(sent[0], "BEGIN | SELECT set_config('role', $1, true)"), "%q", sent)
		require.Contains(t, sent[0], `INSERT INTO "messages"`)
		require.True(t, strings.HasSuffix(sent[0], " | COMMIT"), "%q", sent)
		got, err := c.Message.Get(member, m.ID)
		require.NoError(t, err)
		require.Equal(t, "deferred", got.Content)
		require.Equal(t, viewer.FromContext(member).TenantID, got.TenantID)
	})

	t.Run("ErrEntCreateDeferredFailsAtCommit", func(t *testing.T) {
		// The insert's own failure (here its foreign key) is the commit's.
		tx, err := c.Tx(member)
		require.NoError(t, err)
		ghost := uuid.New()
		_, err = tx.Message.Create().SetConversationID(ghost).SetRole("user").SetContent("x").
			Save(rls.Deferred(viewer.WithCheckedRef(member, "conversation_id", ghost)))
		require.NoError(t, err)
		err = tx.Commit()
		require.ErrorIs(t, err, rls.ErrDeferred)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Equal(t, "23503", pgErr.Code, "foreign_key_violation")
	})

	t.Run("OKRollbackDropsDeferred", func(t *testing.T) {
		tx, err := c.Tx(member)
		require.NoError(t, err)
		_, err = tx.ExecContext(rls.Deferred(sys), "SELECT set_config('test.seen', 'rolled back', false)")
		require.NoError(t, err)
		tr.reset()
		require.NoError(t, tx.Rollback())
		require.Empty(t, tr.reset(), "nothing was sent: nothing to roll back")
		require.NotEqual(t, "rolled back", seen())
	})

	t.Run("ErrCancelledBeforeCommit", func(t *testing.T) {
		ctx, cancel := context.WithCancel(member)
		tx, err := c.Tx(ctx)
		require.NoError(t, err)
		_, err = tx.ExecContext(rls.Deferred(sys), "SELECT set_config('test.seen', 'cancelled', false)")
		require.NoError(t, err)
		cancel()
		require.True(t, errors.Is(tx.Commit(), context.Canceled))
		require.NotEqual(t, "cancelled", seen())
	})
}
