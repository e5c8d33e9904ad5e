package legacy

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
	"github.com/stretchr/testify/require"

	"atrium/internal/migrate"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// openEmpty returns a new, empty PostgreSQL database.
func openEmpty(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", testkit.PostgresURL(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	return db
}

var smallFixture = FixtureOptions{Users: 50, Conversations: 200, Documents: 30, Agents: 12, Teams: 200, KnowledgeGraphs: 9, Seed: 7, BatchSize: 64}

// mustFixture creates the legacy schema on a new database and fills it.
func mustFixture(tb testing.TB, o FixtureOptions) (*sql.DB, FixtureReport) {
	tb.Helper()
	ctx := context.Background()
	db := openEmpty(tb)
	require.NoError(tb, CreateSchema(ctx, db))
	rep, err := Fill(ctx, db, o)
	require.NoError(tb, err)
	return db, rep
}

func count(tb testing.TB, db *sql.DB, q string, args ...any) int64 {
	tb.Helper()
	var n int64
	require.NoError(tb, db.QueryRowContext(context.Background(), q, args...).Scan(&n), q)
	return n
}

// checksums returns an md5 of every legacy table's rows in id order.
func checksums(tb testing.TB, db *sql.DB) map[string]string {
	tb.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(tb, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "SET TimeZone = 'UTC'")
	require.NoError(tb, err)
	sums := map[string]string{}
	for _, t := range Tables {
		var s sql.NullString
		require.NoError(tb, conn.QueryRowContext(ctx, `SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM "`+t+`" AS t`).Scan(&s))
		sums[t] = s.String
	}
	return sums
}

func TestFixture(t *testing.T) {
	t.Parallel()
	db, rep := mustFixture(t, smallFixture)

	t.Run("Counts", func(t *testing.T) {
		want := map[string]int64{"old_users": 50, "conversations": 200, "messages": 800, "documents": 30, "agents": 12, "teams": 200, "knowledge_graphs": 9}
		require.Len(t, rep.Tables, len(want))
		for _, tr := range rep.Tables {
			require.Equal(t, want[tr.Table], tr.Rows, tr.Table)
			require.Equal(t, want[tr.Table], count(t, db, `SELECT count(*) FROM "`+tr.Table+`"`), tr.Table)
		}
		require.EqualValues(t, 1301, rep.Rows())
		require.EqualValues(t, 1, count(t, db, "SELECT count(*) FROM old_users WHERE is_admin"), "default admins: max(1, users/50)")
	})
	t.Run("Consistent", func(t *testing.T) {
		for q, want := range map[string]int64{
			// Every conversation's user and every message's conversation exist
			// (the foreign keys say so too).
			"SELECT count(*) FROM conversations c LEFT JOIN old_users u ON u.id = c.user_id WHERE u.id IS NULL":               0,
			"SELECT count(*) FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id WHERE c.id IS NULL":        0,
			"SELECT count(DISTINCT email) FROM old_users WHERE email ~ '^user[0-9]{6}@legacy\\.example$'":                     50,
			"SELECT count(DISTINCT name) FROM teams":                                                                          200,
			"SELECT count(*) FROM messages GROUP BY conversation_id HAVING count(*) <> 4":                                     0,
			"SELECT count(*) FROM conversations WHERE updated_at < created_at":                                                0,
			"SELECT count(*) FROM documents WHERE updated_at < created_at":                                                    0,
			"SELECT count(*) FROM agents WHERE updated_at < created_at OR temperature NOT BETWEEN 0 AND 2 OR max_tokens <= 0": 0,
			"SELECT count(*) FROM teams WHERE updated_at < created_at":                                                        0,
			"SELECT count(*) FROM knowledge_graphs WHERE updated_at < created_at":                                             0,
			// Conversations start after their user, messages within their
			// conversation, all in the year before RefTime.
			"SELECT count(*) FROM conversations c JOIN old_users u ON u.id = c.user_id WHERE c.created_at < u.created_at":                                   0,
			"SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.created_at NOT BETWEEN c.created_at AND c.updated_at": 0,
			"SELECT count(*) FROM old_users WHERE created_at NOT BETWEEN $1::timestamptz - interval '365 days' AND $1":                                      0,
			"SELECT count(*) FROM messages WHERE created_at NOT BETWEEN $1::timestamptz - interval '365 days' AND $1":                                       0,
			"SELECT count(*) FROM conversations WHERE updated_at > $1":                                                                                      0,
			// Messages alternate, starting with the user.
			"SELECT count(*) FROM (SELECT role, row_number() OVER (PARTITION BY conversation_id ORDER BY created_at) AS n FROM messages) m WHERE role <> CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END": 0,
		} {
			args := []any{}
			if strings.Contains(q, "$1") {
				args = append(args, RefTime)
			}
			var got int64
			rows, err := db.QueryContext(context.Background(), q, args...)
			require.NoError(t, err, q)
			for rows.Next() {
				require.NoError(t, rows.Scan(&got))
			}
			require.NoError(t, rows.Err())
			rows.Close()
			require.Equal(t, want, got, q)
		}
	})
	t.Run("Varied", func(t *testing.T) {
		// Both NULL and non-NULL where the schema allows NULL, several
		// content types, conversations spread over users.
		require.Positive(t, count(t, db, "SELECT count(*) FROM conversations WHERE metadata IS NULL"))
		require.Positive(t, count(t, db, "SELECT count(*) FROM conversations WHERE metadata IS NOT NULL"))
		require.Positive(t, count(t, db, "SELECT count(*) FROM agents WHERE temperature IS NULL"))
		require.Positive(t, count(t, db, "SELECT count(*) FROM agents WHERE temperature IS NOT NULL"))
		require.Positive(t, count(t, db, "SELECT count(*) FROM agents WHERE max_tokens IS NULL"))
		require.Positive(t, count(t, db, "SELECT count(*) FROM agents WHERE max_tokens IS NOT NULL"))
		require.EqualValues(t, 2, count(t, db, "SELECT count(DISTINCT content_type) FROM documents"))
		require.Positive(t, count(t, db, "SELECT count(*) FROM documents WHERE content LIKE '# %'"))
		require.Greater(t, count(t, db, "SELECT count(DISTINCT user_id) FROM conversations"), int64(25))
		require.Greater(t, count(t, db, "SELECT count(DISTINCT title) FROM conversations"), int64(50))
		require.Greater(t, count(t, db, "SELECT count(DISTINCT content) FROM messages WHERE role = 'assistant'"), int64(100))
	})
	t.Run("Deterministic", func(t *testing.T) {
		// The same options give the same rows on another database, whatever
		// the batch size; another seed gives other rows.
		o := smallFixture
		o.BatchSize = 1000
		again, _ := mustFixture(t, o)
		want := checksums(t, db)
		require.Equal(t, want, checksums(t, again))
		o.Seed++
		other, _ := mustFixture(t, o)
		got := checksums(t, other)
		for _, tb := range Tables {
			require.NotEqual(t, want[tb], got[tb], tb)
		}
	})
	t.Run("SchemaUnchanged", func(t *testing.T) {
		// Fill drops and recreates keys and indexes: they must come back
		// exactly, validated.
		fresh := openEmpty(t)
		require.NoError(t, CreateSchema(context.Background(), fresh))
		require.Equal(t, schemaOf(t, fresh), schemaOf(t, db))
	})
	t.Run("ErrNotEmpty", func(t *testing.T) {
		_, err := Fill(context.Background(), db, smallFixture)
		require.ErrorContains(t, err, "not empty")
	})
	t.Run("ErrSchemaExists", func(t *testing.T) {
		require.ErrorContains(t, CreateSchema(context.Background(), db), "already exists")
	})
}

// schemaOf describes the columns, constraints and indexes of the public
// schema.
func schemaOf(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	var s string
	require.NoError(tb, db.QueryRowContext(context.Background(), `SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default) FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT format('%s %s %s %s', conrelid::regclass, conname, convalidated, pg_get_constraintdef(oid)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
) AS z(x)`).Scan(&s))
	require.Contains(tb, s, "messages_conversation_id_fkey")
	require.Contains(tb, s, "old_users_email_key")
	return s
}

func TestFixtureAdmins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		users, admin int
		want         int64
	}{{"Some", 100, 7, 7}, {"All", 5, 5, 5}, {"None", 10, -1, 0}, {"Default", 1000, 0, 20}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, _ := mustFixture(t, FixtureOptions{Users: tc.users, Admins: tc.admin, Seed: 1})
			require.Equal(t, tc.want, count(t, db, "SELECT count(*) FROM old_users WHERE is_admin"))
		})
	}
}

func TestFixtureErr(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("ErrOptions", func(t *testing.T) {
		t.Parallel()
		err := FixtureOptions{Users: -1, Conversations: 3, Teams: -2}.Validate()
		require.ErrorContains(t, err, "users: want >= 0")
		require.ErrorContains(t, err, "teams: want >= 0")
		require.ErrorContains(t, err, "conversations need users")
	})
	t.Run("ErrNoSchema", func(t *testing.T) {
		t.Parallel()
		_, err := Fill(ctx, openEmpty(t), FixtureOptions{Users: 1})
		require.ErrorContains(t, err, "does not exist")
	})
	t.Run("ErrMigrated", func(t *testing.T) {
		t.Parallel()
		// A database adopted at the baseline is still legacy; one with a
		// migration after it is not.
		ddl, err := BaselineSQL()
		require.NoError(t, err)
		db := openEmpty(t)
		require.NoError(t, CreateSchema(ctx, db))
		dir := memDir(t, map[string]string{BaselineVersion + "_legacy_baseline.sql": ddl})
		_, err = migrate.Apply(ctx, db, dialect.Postgres, migrate.WithDir(dir), migrate.WithBaseline(BaselineVersion))
		require.NoError(t, err)
		_, err = Fill(ctx, db, FixtureOptions{Users: 2, Conversations: 3})
		require.NoError(t, err)

		dir = memDir(t, map[string]string{BaselineVersion + "_legacy_baseline.sql": ddl, "20261201000000_next.sql": "CREATE TABLE next_step (id bigint);"})
		_, err = migrate.Apply(ctx, db, dialect.Postgres, migrate.WithDir(dir))
		require.NoError(t, err)
		_, err = Fill(ctx, db, FixtureOptions{Users: 2})
		require.ErrorIs(t, err, ErrMigrated)
		require.ErrorContains(t, err, "20261201000000")
		require.ErrorIs(t, CreateSchema(ctx, db), ErrMigrated)
	})
}

// memDir returns a migration directory of the files, with its atlas.sum.
func memDir(tb testing.TB, files map[string]string) *atlasmigrate.MemDir {
	tb.Helper()
	d := &atlasmigrate.MemDir{}
	for name, content := range files {
		require.NoError(tb, d.WriteFile(name, []byte(content)))
	}
	sum, err := d.Checksum()
	require.NoError(tb, err)
	require.NoError(tb, atlasmigrate.WriteSumFile(d, sum))
	return d
}

// TestFixtureLongConversations: many messages still fit between the user's
// creation and RefTime.
func TestFixtureLongConversations(t *testing.T) {
	t.Parallel()
	db, rep := mustFixture(t, FixtureOptions{Users: 3, Conversations: 5, MessagesPerConversation: 1000, Seed: 3, BatchSize: 700})
	require.EqualValues(t, 5008, rep.Rows())
	require.Zero(t, count(t, db, "SELECT count(*) FROM messages WHERE created_at > $1", RefTime))
	require.Zero(t, count(t, db, "SELECT count(*) FROM conversations c JOIN old_users u ON u.id = c.user_id WHERE c.created_at < u.created_at"))
	require.Zero(t, count(t, db, "SELECT count(*) FROM conversations c WHERE updated_at <> (SELECT max(created_at) FROM messages m WHERE m.conversation_id = c.id)"))
}
