package rls_test

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/internal/app"
	"atrium/internal/rls"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	db       *app.Database
	ctx      context.Context
	a, b     uuid.UUID // tenants
	convA    uuid.UUID
	convB    uuid.UUID
	userA    uuid.UUID // member of A and B
	userB    uuid.UUID // member of B only
	asA, asB context.Context
}

// setup makes two tenants, each with a conversation; userA belongs to both,
// userB to B only. Fixtures are written as the system.
func setup(t *testing.T) *bundle {
	t.Helper()
	db := testkit.Postgres(t)
	ctx := context.Background()
	sys := viewer.System(ctx, viewer.ReasonTest)
	c := db.Client
	bd := &bundle{db: db, ctx: ctx}
	for _, p := range []*uuid.UUID{&bd.a, &bd.b} {
		id := uuid.Must(uuid.NewV7())
		tn, err := c.Tenant.Create().SetName("T").SetSlug("t-" + id.String()).Save(sys)
		require.NoError(t, err)
		*p = tn.ID
	}
	for _, p := range []*uuid.UUID{&bd.userA, &bd.userB} {
		u, err := c.User.Create().SetDisplayName("U").Save(sys)
		require.NoError(t, err)
		*p = u.ID
	}
	member := func(tenant, user uuid.UUID) {
		_, err := c.Membership.Create().SetTenantID(tenant).SetUserID(user).SetCreatedBy(user).SetUpdatedBy(user).
			Save(viewer.SystemForTenant(ctx, tenant, viewer.ReasonTest))
		require.NoError(t, err)
	}
	member(bd.a, bd.userA)
	member(bd.b, bd.userA)
	member(bd.b, bd.userB)
	conv := func(tenant, user uuid.UUID) uuid.UUID {
		cv, err := c.Conversation.Create().SetTenantID(tenant).SetCreatedBy(user).SetUpdatedBy(user).SetTitle("secret").
			Save(viewer.SystemForTenant(ctx, tenant, viewer.ReasonTest))
		require.NoError(t, err)
		return cv.ID
	}
	bd.convA = conv(bd.a, bd.userA)
	bd.convB = conv(bd.b, bd.userB)
	bd.asA = viewer.NewContext(ctx, &viewer.Viewer{UserID: bd.userA, TenantID: bd.a})
	bd.asB = viewer.NewContext(ctx, &viewer.Viewer{UserID: bd.userB, TenantID: bd.b})
	return bd
}

// count runs a raw count through the application's driver, in a transaction
// begun (and so scoped) with ctx.
func count(t *testing.T, c *ent.Client, ctx context.Context, query string, args ...any) int {
	t.Helper()
	tx, err := c.Tx(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	return countTx(t, tx, ctx, query, args...)
}

func countTx(t *testing.T, tx *ent.Tx, ctx context.Context, query string, args ...any) int {
	t.Helper()
	rows, err := tx.QueryContext(ctx, query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var n int
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&n))
	require.NoError(t, rows.Err())
	return n
}

func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		c := bd.db.Client
		require.Equal(t, 1, count(t, c, bd.asA, `SELECT count(*) FROM conversations`))
		require.Equal(t, 1, count(t, c, bd.asA, `SELECT count(*) FROM conversations WHERE id = $1`, bd.convA))
		require.Equal(t, 1, count(t, c, bd.asA, `SELECT count(*) FROM memberships`))
		// The server's statements run as the app role, not the superuser
		// the tests connect as.
		tx, err := c.Tx(bd.asA)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		rows, err := tx.QueryContext(bd.asA, `SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user`)
		require.NoError(t, err)
		defer rows.Close()
		require.True(t, rows.Next())
		var who string
		var super, bypass bool
		require.NoError(t, rows.Scan(&who, &super, &bypass))
		require.Equal(t, rls.Role, who)
		require.False(t, super)
		require.False(t, bypass)
	})

	t.Run("ErrCrossTenantRead", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		c := bd.db.Client
		require.Zero(t, count(t, c, bd.asA, `SELECT count(*) FROM conversations WHERE id = $1`, bd.convB))
		require.Zero(t, count(t, c, bd.asA, `SELECT count(*) FROM conversations WHERE tenant_id = $1`, bd.b))
		// ent without its privacy filter cannot help either: the rows are
		// not there for the role.
		require.Zero(t, count(t, c, bd.asA, `SELECT count(*) FROM memberships WHERE tenant_id = $1`, bd.b))
	})

	t.Run("ErrCrossTenantWrite", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		c := bd.db.Client
		// Outside a transaction (the driver wraps the statement in one).
		res, err := c.ExecContext(bd.asA, `UPDATE conversations SET title = 'pwned' WHERE id = $1`, bd.convB)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Zero(t, n)
		res, err = c.ExecContext(bd.asA, `DELETE FROM conversations WHERE tenant_id = $1`, bd.b)
		require.NoError(t, err)
		n, err = res.RowsAffected()
		require.NoError(t, err)
		require.Zero(t, n)
		// Writing a row into another tenant fails the WITH CHECK.
		_, err = c.ExecContext(bd.asA, `INSERT INTO conversations (id, created_at, updated_at, title, status, tenant_id, created_by, updated_by)
			VALUES ($1, now(), now(), 'x', 'active', $2, $3, $3)`, uuid.Must(uuid.NewV7()), bd.b, bd.userA)
		require.ErrorContains(t, err, "row-level security")
		// Moving one's own row to another tenant fails too.
		_, err = c.ExecContext(bd.asA, `UPDATE conversations SET tenant_id = $1 WHERE id = $2`, bd.b, bd.convA)
		require.ErrorContains(t, err, "row-level security")
		sys := viewer.System(bd.ctx, viewer.ReasonTest)
		cv, err := c.Conversation.Get(sys, bd.convB)
		require.NoError(t, err)
		require.Equal(t, "secret", cv.Title)
	})

	t.Run("ErrForgottenTenant", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		c := bd.db.Client
		// No viewer at all, and a viewer without a tenant: nothing, not everything.
		require.Zero(t, count(t, c, bd.ctx, `SELECT count(*) FROM conversations`))
		noTenant := viewer.NewContext(bd.ctx, &viewer.Viewer{UserID: bd.userA})
		require.Zero(t, count(t, c, noTenant, `SELECT count(*) FROM conversations`))
		require.Zero(t, count(t, c, noTenant, `SELECT count(*) FROM memberships`))
		res, err := c.ExecContext(bd.ctx, `DELETE FROM conversations`)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("OKSystem", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		sys := viewer.System(bd.ctx, viewer.ReasonTest)
		require.Equal(t, 2, count(t, bd.db.Client, sys, `SELECT count(*) FROM conversations`))
	})

	t.Run("OKSelf", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		c := bd.db.Client
		self := viewer.ForUser(bd.ctx, bd.userA)
		// Their memberships in every tenant, and what they created; not
		// userB's membership or conversation.
		require.Equal(t, 2, count(t, c, self, `SELECT count(*) FROM memberships`))
		require.Equal(t, 1, count(t, c, self, `SELECT count(*) FROM conversations`))
		require.Zero(t, count(t, c, self, `SELECT count(*) FROM conversations WHERE id = $1`, bd.convB))
		// Read only.
		res, err := c.ExecContext(self, `UPDATE conversations SET title = 'x' WHERE id = $1`, bd.convA)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("OKScopePerStatement", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		c := bd.db.Client
		// A member's transaction in which one statement runs as the system
		// (as the audit writer does): each statement gets its own scope.
		tx, err := c.Tx(bd.asA)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		sys := viewer.System(bd.asA, viewer.ReasonTest)
		require.Equal(t, 1, countTx(t, tx, bd.asA, `SELECT count(*) FROM conversations`))
		require.Equal(t, 2, countTx(t, tx, sys, `SELECT count(*) FROM conversations`))
		require.Equal(t, 1, countTx(t, tx, bd.asA, `SELECT count(*) FROM conversations`))
		require.Zero(t, countTx(t, tx, bd.asB, `SELECT count(*) FROM conversations WHERE id = $1`, bd.convA))
	})

	t.Run("ErrRawQueryOutsideTx", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		_, err := bd.db.Client.QueryContext(bd.asA, `SELECT 1`)
		require.ErrorIs(t, err, rls.ErrQueryOutsideTx)
	})

	t.Run("OKOwnerPath", func(t *testing.T) {
		t.Parallel()
		bd := setup(t)
		// The raw handle (migrations, backfills) is the connecting role's,
		// the tables' owner here: it sees every row.
		var n int
		require.NoError(t, bd.db.DB.QueryRowContext(bd.ctx, `SELECT count(*) FROM conversations`).Scan(&n))
		require.Equal(t, 2, n)
		var who string
		require.NoError(t, bd.db.DB.QueryRowContext(bd.ctx, `SELECT current_user`).Scan(&who))
		require.NotEqual(t, rls.Role, who)
	})
}

// BenchmarkRead is the read path of a member: one conversation by id through
// ent, with the driver of internal/rls (rls) and ent's plain driver (plain)
// over the same pool and the same database.
func BenchmarkRead(b *testing.B) {
	db := testkit.Postgres(b)
	ctx := context.Background()
	sys := viewer.System(ctx, viewer.ReasonTest)
	tn, err := db.Client.Tenant.Create().SetName("T").SetSlug("bench").Save(sys)
	require.NoError(b, err)
	u, err := db.Client.User.Create().SetDisplayName("U").Save(sys)
	require.NoError(b, err)
	cv, err := db.Client.Conversation.Create().SetTenantID(tn.ID).SetCreatedBy(u.ID).SetUpdatedBy(u.ID).
		Save(viewer.SystemForTenant(ctx, tn.ID, viewer.ReasonTest))
	require.NoError(b, err)
	member := viewer.NewContext(ctx, &viewer.Viewer{UserID: u.ID, TenantID: tn.ID})
	run := func(b *testing.B, c *ent.Client) {
		for b.Loop() {
			if _, err := c.Conversation.Get(member, cv.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("rls", func(b *testing.B) { run(b, db.Client) })
	// Before: ent's own driver, as the connecting role (no row-level security).
	b.Run("plain", func(b *testing.B) { run(b, ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db.DB)))) })
	b.Run("rls-tx", func(b *testing.B) {
		// Three reads in one transaction: the scope is set once.
		for b.Loop() {
			tx, err := db.Client.Tx(member)
			if err != nil {
				b.Fatal(err)
			}
			for range 3 {
				if _, err := tx.Conversation.Get(member, cv.ID); err != nil {
					b.Fatal(err)
				}
			}
			_ = tx.Rollback()
		}
	})
}
