package legacy

import (
	"context"
	"database/sql"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	entmigrate "atrium/ent/migrate"
	"atrium/internal/authz"
	"atrium/internal/migrate"
)

var adoptFixture = FixtureOptions{Users: 40, Admins: 3, Conversations: 120, MessagesPerConversation: 3, Documents: 20, Agents: 5, Teams: 4, KnowledgeGraphs: 3, Seed: 11}

func snapshot(t *testing.T, db *sql.DB) Snapshot {
	t.Helper()
	s, err := TakeSnapshot(context.Background(), db)
	require.NoError(t, err)
	return s
}

// afterBaseline counts the files after the legacy baseline: the adoption
// steps and every migration since.
func afterBaseline(t *testing.T) int {
	t.Helper()
	dir, err := migrate.Dir(dialect.Postgres)
	require.NoError(t, err)
	files, err := dir.Files()
	require.NoError(t, err)
	require.Equal(t, BaselineVersion, files[0].Version())
	return len(files) - 1
}

func adopt(t *testing.T, db *sql.DB) migrate.Report {
	t.Helper()
	rep, err := migrate.Apply(context.Background(), db, dialect.Postgres, migrate.WithBaseline(BaselineVersion))
	require.NoError(t, err)
	return rep
}

func requireValid(t *testing.T, db *sql.DB, before *Snapshot) {
	t.Helper()
	rep, err := Validate(context.Background(), db, dialect.Postgres, before)
	require.NoError(t, err)
	require.True(t, rep.OK, "validation: %+v", rep.Checks)
}

// TestAdopt: a legacy database, adopted with --baseline, ends with every
// legacy row in the default tenant, with its author, every legacy user a
// member with the role its is_admin flag implies; validate passes against the
// snapshot taken before; a second apply does nothing.
func TestAdopt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustFixture(t, adoptFixture)
	before := snapshot(t, db)
	require.Equal(t, "legacy", before.Shape)
	require.EqualValues(t, 40, before.Tables["old_users"].Rows)
	require.EqualValues(t, 360, before.Tables["messages"].Rows)

	// What the legacy data says, to compare with afterwards.
	owners := map[uuid.UUID]uuid.UUID{} // conversation -> legacy user
	rows, err := db.QueryContext(ctx, `SELECT id, user_id FROM conversations`)
	require.NoError(t, err)
	for rows.Next() {
		var c, u uuid.UUID
		require.NoError(t, rows.Scan(&c, &u))
		owners[c] = u
	}
	require.NoError(t, rows.Close())
	admins := map[uuid.UUID]bool{}
	rows, err = db.QueryContext(ctx, `SELECT id, is_admin FROM old_users`)
	require.NoError(t, err)
	for rows.Next() {
		var u uuid.UUID
		var a bool
		require.NoError(t, rows.Scan(&u, &a))
		admins[u] = a
	}
	require.NoError(t, rows.Close())
	var legacyOwner uuid.UUID
	require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM old_users ORDER BY is_admin DESC, created_at, id LIMIT 1`).Scan(&legacyOwner))

	rep := adopt(t, db)
	require.Equal(t, BaselineVersion, rep.Baseline)
	require.Len(t, rep.Applied, afterBaseline(t))
	requireValid(t, db, &before)
	after := snapshot(t, db)
	require.Equal(t, "migrated", after.Shape)
	require.Empty(t, after.Diff(before))

	// Conversations and their messages belong to the legacy user; the rest
	// to the legacy owner; everything to the default tenant.
	rows, err = db.QueryContext(ctx, `SELECT id, tenant_id, created_by, updated_by FROM conversations`)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var c, tn, cb, ub uuid.UUID
		require.NoError(t, rows.Scan(&c, &tn, &cb, &ub))
		require.Equal(t, DefaultTenantID, tn)
		require.Equal(t, owners[c], cb, "conversation %s", c)
		require.Equal(t, owners[c], ub)
		n++
	}
	require.NoError(t, rows.Close())
	require.Equal(t, len(owners), n)
	require.Zero(t, count(t, db, `SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.created_by <> c.created_by OR m.tenant_id <> c.tenant_id OR m.updated_at <> m.created_at`))
	for _, tbl := range []string{"documents", "agents", "teams", "knowledge_graphs"} {
		require.Zero(t, count(t, db, `SELECT count(*) FROM `+tbl+` WHERE created_by <> $1 OR tenant_id <> $2`, legacyOwner, DefaultTenantID), tbl)
	}
	// Users keep their id as external_id; roles follow is_admin.
	rows, err = db.QueryContext(ctx, `SELECT u.id, u.external_id, r.role_id FROM users u
		JOIN memberships m ON m.user_id = u.id AND m.tenant_id = $1 AND m.status = 'active'
		JOIN member_roles r ON r.user_id = u.id AND r.tenant_id = $1`, DefaultTenantID)
	require.NoError(t, err)
	n = 0
	for rows.Next() {
		var u, role uuid.UUID
		var ext string
		require.NoError(t, rows.Scan(&u, &ext, &role))
		require.Equal(t, u.String(), ext)
		want := authz.RoleMemberID
		if admins[u] {
			want = authz.RoleAdminID
		}
		require.Equal(t, want, role, "user %s", u)
		n++
	}
	require.NoError(t, rows.Close())
	require.Equal(t, len(admins), n)

	// Exactly ent's tables (and no legacy table) remain.
	var tables []string
	rows, err = db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		tables = append(tables, s)
	}
	require.NoError(t, rows.Close())
	var want []string
	for _, tb := range entmigrate.Tables {
		want = append(want, tb.Name)
	}
	require.ElementsMatch(t, want, tables)

	again, err := migrate.Apply(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Empty(t, again.Applied, "a second apply is a no-op")
	require.Empty(t, snapshot(t, db).Diff(before))
}

// TestValidateFails: validate reports, and exits non-zero on, a changed
// legacy row, a lost one, a user without a membership and a member without a
// role.
func TestValidateFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustFixture(t, adoptFixture)
	before := snapshot(t, db)
	adopt(t, db)
	requireValid(t, db, &before)
	failed := func() []string {
		rep, err := Validate(ctx, db, dialect.Postgres, &before)
		require.NoError(t, err)
		require.False(t, rep.OK)
		var names []string
		for _, c := range rep.Checks {
			if !c.OK {
				names = append(names, c.Name)
			}
		}
		return names
	}
	exec := func(q string, args ...any) {
		_, err := db.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	exec(`UPDATE documents SET content = content || ' ' WHERE id = (SELECT id FROM documents LIMIT 1)`)
	require.Equal(t, []string{"legacy rows and checksums preserved"}, failed())
	before = snapshot(t, db)
	exec(`DELETE FROM messages WHERE id = (SELECT id FROM messages LIMIT 1)`)
	require.Equal(t, []string{"legacy rows and checksums preserved"}, failed())
	before = snapshot(t, db)

	stray := uuid.New()
	exec(`INSERT INTO users (id, created_at, updated_at, display_name, status) VALUES ($1, now(), now(), '', 'active')`, stray)
	require.Equal(t, []string{"every user is an active member"}, failed())
	exec(`INSERT INTO memberships (id, created_at, updated_at, created_by, updated_by, status, tenant_id, user_id) VALUES ($1, now(), now(), $2, $2, 'active', $3, $2)`,
		uuid.New(), stray, DefaultTenantID)
	require.Equal(t, []string{"every member has a role"}, failed())
	exec(`INSERT INTO member_roles (id, created_at, updated_at, created_by, updated_by, tenant_id, user_id, role_id) VALUES ($1, now(), now(), $2, $2, $3, $2, $4)`,
		uuid.New(), stray, DefaultTenantID, authz.RoleViewerID)
	requireValid(t, db, &before)

	exec(`CREATE TABLE old_users (id uuid PRIMARY KEY)`)
	rep, err := Validate(ctx, db, dialect.Postgres, nil)
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "no legacy table left", rep.Checks[2].Name)
	require.False(t, rep.Checks[2].OK)
}

// TestInterruptedAdoption: a step that fails mid-way (here the batched
// backfill, made to fail on the messages by a trigger) is recorded as failed
// with its statement; what it committed before stays; once the cause is gone,
// apply resumes at the failed statement and nothing is lost.
func TestInterruptedAdoption(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustFixture(t, adoptFixture)
	before := snapshot(t, db)
	exec := func(q string) {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	exec(`CREATE FUNCTION atrium_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`)
	exec(`CREATE TRIGGER atrium_test_fail BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION atrium_test_fail()`)

	_, err := migrate.Apply(ctx, db, dialect.Postgres, migrate.WithBaseline(BaselineVersion))
	require.ErrorContains(t, err, "injected failure")
	st, err := migrate.Status(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Equal(t, "20261101000310", st.Current)
	require.Contains(t, st.Error, "injected failure")
	require.False(t, st.OK())
	var applied, total int
	var stmt sql.NullString
	require.NoError(t, db.QueryRowContext(ctx, `SELECT applied, total, error_stmt FROM atlas_schema_revisions.atlas_schema_revisions WHERE version = '20261101000310'`).Scan(&applied, &total, &stmt))
	require.Equal(t, 6, applied, "the statements before the failing one are done")
	require.Equal(t, 8, total)
	require.Contains(t, stmt.String, `UPDATE "messages"`)
	require.Zero(t, count(t, db, `SELECT count(*) FROM documents WHERE created_by IS NULL`), "committed before the failure")
	require.Zero(t, count(t, db, `SELECT count(*) FROM conversations WHERE created_by IS NULL`), "committed before the failure")
	require.EqualValues(t, 360, count(t, db, `SELECT count(*) FROM messages WHERE created_by IS NULL`), "the failed slice rolled back")
	rep, err := Validate(ctx, db, dialect.Postgres, &before)
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Empty(t, snapshot(t, db).Diff(before), "nothing lost while stopped")

	exec(`DROP TRIGGER atrium_test_fail ON messages`)
	exec(`DROP FUNCTION atrium_test_fail()`)
	res, err := migrate.Apply(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Equal(t, "20261101000310_backfill.sql", res.Applied[0])
	requireValid(t, db, &before)
}

// TestAdoptRefusesOwnerlessRows: legacy rows with no legacy user to own them
// stop the migration with a message saying what to do.
func TestAdoptRefusesOwnerlessRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	require.NoError(t, CreateSchema(ctx, db))
	_, err := db.ExecContext(ctx, `INSERT INTO documents (id, title, content) VALUES ($1, 'orphan', 'x')`, uuid.New())
	require.NoError(t, err)
	_, err = migrate.Apply(ctx, db, dialect.Postgres, migrate.WithBaseline(BaselineVersion))
	require.ErrorContains(t, err, "old_users is empty")
	require.EqualValues(t, 1, count(t, db, `SELECT count(*) FROM documents`))
}

// TestFreshInstall: on an empty database every file applies (the legacy
// baseline creates empty tables that the steps reshape), no tenant or user
// is invented, and validate passes.
func TestFreshInstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	rep, err := migrate.Apply(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Equal(t, BaselineVersion+"_legacy_baseline.sql", rep.Applied[0])
	require.Zero(t, count(t, db, `SELECT count(*) FROM tenants`))
	require.Zero(t, count(t, db, `SELECT count(*) FROM users`))
	require.EqualValues(t, 3, count(t, db, `SELECT count(*) FROM roles WHERE system`))
	requireValid(t, db, nil)
}

// TestUpDownUp: down to the baseline restores the legacy shape with every
// legacy row intact, the revision table keeps only the baseline, and up again
// ends where the first up did; the legacy checksums never change.
func TestUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustFixture(t, adoptFixture)
	before := snapshot(t, db)
	adopt(t, db)
	require.Empty(t, snapshot(t, db).Diff(before))

	down, err := migrate.Down(ctx, db, dialect.Postgres, migrate.WithTo(BaselineVersion))
	require.NoError(t, err)
	require.Len(t, down.Reverted, afterBaseline(t))
	legacyAgain := snapshot(t, db)
	require.Equal(t, "legacy", legacyAgain.Shape)
	require.Empty(t, legacyAgain.Diff(before), "down restores every legacy row")
	st, err := migrate.Status(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Equal(t, BaselineVersion, st.Current)
	require.Equal(t, afterBaseline(t), st.Pending)
	require.Zero(t, count(t, db, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('users', 'tenants', 'roles')`))
	require.Zero(t, count(t, db, `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name IN ('tenant_id', 'created_by')`))
	// The legacy application's view: is_admin survived the round trip.
	require.EqualValues(t, 3, count(t, db, `SELECT count(*) FROM old_users WHERE is_admin`))

	up, err := migrate.Apply(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Len(t, up.Applied, afterBaseline(t))
	requireValid(t, db, &before)

	// Going below the baseline would drop the legacy tables: refused.
	_, err = migrate.Down(ctx, db, dialect.Postgres, migrate.WithTo("0"))
	require.Error(t, err)
	requireValid(t, db, &before)
}

// TestDownRefusesNonLegacyRows: once another tenant has rows in a legacy
// table, the legacy shape cannot hold them: down stops at the constraints
// step and loses nothing.
func TestDownRefusesNonLegacyRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustFixture(t, adoptFixture)
	before := snapshot(t, db)
	adopt(t, db)
	other, u := uuid.New(), uuid.New()
	for q, args := range map[string][]any{
		`INSERT INTO tenants (id, created_at, updated_at, name, slug) VALUES ($1, now(), now(), 'Other', 'other')`: {other},
		`INSERT INTO users (id, created_at, updated_at) VALUES ($1, now(), now())`:                                 {u},
	} {
		_, err := db.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO documents (id, created_at, updated_at, created_by, updated_by, title, content, tenant_id)
		VALUES (gen_random_uuid(), now(), now(), $2, $2, 'new', 'x', $1)`, other, u)
	require.NoError(t, err)
	_, err = migrate.Down(ctx, db, dialect.Postgres, migrate.WithTo(BaselineVersion))
	require.ErrorContains(t, err, "documents has rows of tenants other than the default one")
	st, err := migrate.Status(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	require.Equal(t, "20261101000600", st.Current, "the step before the refusal was reverted, the refused one kept")
	require.EqualValues(t, 1, count(t, db, `SELECT count(*) FROM documents WHERE tenant_id = $1`, other))
	// Reapplying brings it back to a valid state, with the extra document.
	_, err = migrate.Apply(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	rep, err := Validate(ctx, db, dialect.Postgres, &before)
	require.NoError(t, err)
	require.False(t, rep.OK, "the new document changes the legacy table's content")
}

// TestCatchUpLateWrites: rows a legacy application still wrote after the
// backfill (no tenant, no author) are caught up by the constraints step, not
// rejected and not lost.
func TestCatchUpLateWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustFixture(t, adoptFixture)
	full, err := migrate.Dir(dialect.Postgres)
	require.NoError(t, err)
	files, err := full.Files()
	require.NoError(t, err)
	upTo := &atlasmigrate.MemDir{}
	for _, f := range files {
		if f.Version() <= "20261101000500" {
			require.NoError(t, upTo.WriteFile(f.Name(), f.Bytes()))
		}
	}
	sum, err := upTo.Checksum()
	require.NoError(t, err)
	require.NoError(t, atlasmigrate.WriteSumFile(upTo, sum))
	_, err = migrate.Apply(ctx, db, dialect.Postgres, migrate.WithDir(upTo), migrate.WithBaseline(BaselineVersion))
	require.NoError(t, err)

	// The legacy application writes as it always did.
	var user uuid.UUID
	require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM old_users WHERE NOT is_admin LIMIT 1`).Scan(&user))
	conv, msg, doc := uuid.New(), uuid.New(), uuid.New()
	for q, args := range map[string][]any{
		`INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 'late')`: {conv, user},
		`INSERT INTO documents (id, title, content) VALUES ($1, 'late', 'x')`:    {doc},
	} {
		_, err := db.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, role, content) VALUES ($1, $2, 'user', 'late')`, msg, conv)
	require.NoError(t, err)
	before := snapshot(t, db)

	_, err = migrate.Apply(ctx, db, dialect.Postgres)
	require.NoError(t, err)
	requireValid(t, db, &before)
	var tn, by uuid.UUID
	require.NoError(t, db.QueryRowContext(ctx, `SELECT tenant_id, created_by FROM messages WHERE id = $1`, msg).Scan(&tn, &by))
	require.Equal(t, DefaultTenantID, tn)
	require.Equal(t, user, by)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT tenant_id FROM documents WHERE id = $1`, doc).Scan(&tn))
	require.Equal(t, DefaultTenantID, tn)
}
