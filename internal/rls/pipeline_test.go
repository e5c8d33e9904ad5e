package rls_test

import (
	"context"
	"database/sql"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/internal/rls"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

// valuesSQL selects one value of each type the server's tables use and of
// the others stdlib converts specially, and a NULL.
const valuesSQL = `SELECT true, false, '\x00ff01'::bytea, 7::int2, -8::int4, 9000000000::int8,
	1.5::float4, 2.25::float8, '{"a": [1, "x"]}'::json, '{"b": {"c": null}}'::jsonb,
	'2026-12-04 10:00:00.123456'::timestamp, '2026-12-04 10:00:00.5+02'::timestamptz,
	'2026-12-04'::date, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 12.345::numeric,
	'text ✓'::text, 'v'::varchar(4), NULL::text, NULL::uuid, 42::oid, '{1,2}'::int4[],
	'<a/>'::xml, '1 day 2 hours'::interval, '127.0.0.1/32'::inet, ''::text, 'x'::bpchar`

func scanAll(t *testing.T, rows interface {
	Columns() ([]string, error)
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) []any {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	require.True(t, rows.Next(), "%v", rows.Err())
	require.NoError(t, rows.Scan(ptrs...))
	require.False(t, rows.Next())
	require.NoError(t, rows.Err())
	return vals
}

// TestPipelineValues: a statement sent in a batch after its settings gives
// database/sql the same values as pgx's stdlib driver gives for the same
// statement, in a transaction and outside one.
func TestPipelineValues(t *testing.T) {
	t.Parallel()
	url := testkit.MigratedPostgresURL(t)
	plain, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	want := scanAll(t, noErr(t)(plain.QueryContext(t.Context(), valuesSQL)))
	require.Len(t, want, 26)

	piped, err := sql.Open(rls.DriverName, url)
	require.NoError(t, err)
	t.Cleanup(func() { piped.Close() })
	drv := rls.New(piped)
	ctx := viewer.System(t.Context(), viewer.ReasonTest)

	t.Run("OKOutsideTx", func(t *testing.T) {
		var rows entsql.Rows
		require.NoError(t, drv.Query(ctx, valuesSQL, []any{}, &rows))
		require.Equal(t, want, scanAll(t, &rows))
	})
	t.Run("OKInTx", func(t *testing.T) {
		c := ent.NewClient(ent.Driver(drv))
		tx, err := c.Tx(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		// The first statement carries BEGIN and the settings.
		require.Equal(t, want, scanAll(t, noErr(t)(tx.QueryContext(ctx, valuesSQL))))
		// The next one none.
		require.Equal(t, want, scanAll(t, noErr(t)(tx.QueryContext(ctx, valuesSQL))))
	})
	t.Run("OKColumnTypes", func(t *testing.T) {
		var rows entsql.Rows
		require.NoError(t, drv.Query(ctx, `SELECT 1::int8, 'x'::text, now(), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid`, []any{}, &rows))
		defer rows.Close()
		cts, err := rows.ColumnTypes()
		require.NoError(t, err)
		pr, err := plain.QueryContext(t.Context(), `SELECT 1::int8, 'x'::text, now(), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid`)
		require.NoError(t, err)
		defer pr.Close()
		pcts, err := pr.ColumnTypes()
		require.NoError(t, err)
		for i := range cts {
			require.Equal(t, pcts[i].ScanType(), cts[i].ScanType(), "column %d", i)
			require.Equal(t, pcts[i].DatabaseTypeName(), cts[i].DatabaseTypeName(), "column %d", i)
		}
	})
}

// noErr fails the test on a query's error and returns its rows.
func noErr(t *testing.T) func(*sql.Rows, error) *sql.Rows {
	return func(rows *sql.Rows, err error) *sql.Rows {
		t.Helper()
		require.NoError(t, err)
		return rows
	}
}

// TestPipelineSettingsEnd: the settings of a statement outside a
// transaction end with it (they are transaction-local and the batch is one
// implicit transaction), and a failed statement leaves the connection clean.
func TestPipelineSettingsEnd(t *testing.T) {
	t.Parallel()
	c, db, _, member, conv := tracedClient(t)
	db.SetMaxOpenConns(1) // every statement below on the same connection
	_, err := c.Conversation.Get(member, conv)
	require.NoError(t, err)

	settings := func() (role, tenant, user string) {
		t.Helper()
		// The raw pool, without a prelude: the connecting role's session.
		require.NoError(t, db.QueryRowContext(t.Context(),
			`SELECT current_user, current_setting('app.tenant_id', true), current_setting('app.user_id', true)`).
			Scan(&role, &tenant, &user))
		return role, tenant, user
	}
	role, tenant, user := settings()
	require.NotEqual(t, rls.Role, role, "the role outlived the statement")
	require.Empty(t, tenant, "the tenant outlived the statement")
	require.Empty(t, user)

	t.Run("ErrStatementLeavesConnectionClean", func(t *testing.T) {
		_, err := c.ExecContext(member, "SELECT 1/0")
		require.Error(t, err)
		role, tenant, _ := settings()
		require.NotEqual(t, rls.Role, role)
		require.Empty(t, tenant)
		got, err := c.Conversation.Get(member, conv)
		require.NoError(t, err)
		require.Equal(t, conv, got.ID)
	})

	t.Run("OKWriteOutsideTxCommits", func(t *testing.T) {
		n, err := c.Conversation.Update().Where().SetTitle("piped").Save(member)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		var title string
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT title FROM conversations WHERE id = $1`, conv).Scan(&title))
		require.Equal(t, "piped", title)
	})
}

// TestPipelineRefusesPlainPool: a pool whose connections cannot send the
// settings with the statement is refused, so no statement runs without
// them (as the connecting role, which bypasses row-level security).
func TestPipelineRefusesPlainPool(t *testing.T) {
	t.Parallel()
	plain, err := sql.Open("pgx", testkit.MigratedPostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	c := ent.NewClient(ent.Driver(rls.New(plain)))
	ctx := viewer.System(context.Background(), viewer.ReasonTest)
	_, err = c.Tenant.Query().Count(ctx)
	require.ErrorIs(t, err, rls.ErrPool)
	_, err = c.Tx(ctx)
	require.ErrorIs(t, err, rls.ErrPool)
	_, err = c.ExecContext(ctx, "SELECT 1")
	require.ErrorIs(t, err, rls.ErrPool)
}
