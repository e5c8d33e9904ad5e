// Package legacy knows the pre-authentication, single-tenant schema that
// Atrium adopts (migrations/postgres/20261101000000_legacy_baseline.sql): it
// fills such a database with fixtures, snapshots its content before the
// migration and validates the result after it (docs/migration-runbook.md).
package legacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	entmigrate "atrium/ent/migrate"
	"atrium/internal/authz"
	"atrium/internal/migrate"
)

// BaselineVersion is the version of the legacy baseline file: a legacy
// database is adopted with `atrium migrate apply --baseline BaselineVersion`.
const BaselineVersion = "20261101000000"

// DefaultTenantID is the tenant the migration puts every legacy row in
// (a constant of migrations/postgres/20261101000300_legacy_users.sql).
var DefaultTenantID = uuid.MustParse("00000000-0000-7000-8000-00000000d001")

// Tables are the legacy tables, in the order they are reported.
var Tables = []string{"old_users", "conversations", "messages", "documents", "agents", "teams", "knowledge_graphs"}

// TableSum is the content of one legacy table: its row count and an
// order-independent checksum of its legacy columns.
type TableSum struct {
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
}

// Snapshot is the content of the legacy tables at one point in time. It is
// computed from the legacy columns only, through whichever shape the database
// has (legacy, migrated, or in between), so a snapshot taken before the
// migration must equal one taken after it, and after a rollback.
type Snapshot struct {
	TakenAt time.Time           `json:"taken_at"`
	Shape   string              `json:"shape"` // "legacy", "migrating" or "migrated"
	Tables  map[string]TableSum `json:"tables"`
}

// Diff reports the tables whose rows or checksum differ from want.
func (s Snapshot) Diff(want Snapshot) []string {
	var out []string
	for _, t := range Tables {
		g, w := s.Tables[t], want.Tables[t]
		if g != w {
			out = append(out, fmt.Sprintf("%s: %d rows (checksum %s), snapshot had %d rows (checksum %s)", t, g.Rows, g.Checksum, w.Rows, w.Checksum))
		}
	}
	return out
}

// TakeSnapshot computes the legacy content of a PostgreSQL database in one
// read-only, repeatable-read transaction.
func TakeSnapshot(ctx context.Context, db *sql.DB) (Snapshot, error) {
	snap := Snapshot{TakenAt: time.Now().UTC(), Tables: map[string]TableSum{}}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return snap, err
	}
	defer tx.Rollback()
	// The text of a row depends on these settings: pin them.
	for _, s := range []string{"SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL extra_float_digits = 3"} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return snap, err
		}
	}
	has := func(table, column string) (bool, error) {
		var ok bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND ($2 = '' OR column_name = $2))`, table, column).Scan(&ok)
		return ok, err
	}
	oldUsers, err := has("old_users", "")
	if err != nil {
		return snap, err
	}
	if ok, err := has("conversations", ""); err != nil {
		return snap, err
	} else if !ok {
		return snap, errors.New("legacy: no conversations table: not a legacy or migrated Atrium database")
	}
	users, err := has("users", "")
	if err != nil {
		return snap, err
	}
	switch {
	case oldUsers && !users:
		snap.Shape = "legacy"
	case oldUsers:
		snap.Shape = "migrating"
	default:
		snap.Shape = "migrated"
	}
	queries := map[string]string{
		"messages":         `SELECT id, conversation_id, role, content, created_at FROM messages`,
		"documents":        `SELECT id, title, content, content_type, created_at, updated_at FROM documents`,
		"agents":           `SELECT id, name, description, instructions, model, temperature, max_tokens, created_at, updated_at FROM agents`,
		"teams":            `SELECT id, name, description, created_at, updated_at FROM teams`,
		"knowledge_graphs": `SELECT id, name, description, created_at, updated_at FROM knowledge_graphs`,
	}
	if oldUsers {
		queries["old_users"] = `SELECT id, email, name, is_admin, created_at FROM old_users`
	} else {
		queries["old_users"] = fmt.Sprintf(`SELECT u.id, u.email, u.display_name AS name,
			EXISTS (SELECT 1 FROM member_roles r WHERE r.user_id = u.id AND r.tenant_id = '%s' AND r.role_id = '%s') AS is_admin,
			u.created_at FROM users u WHERE u.external_id = u.id::text`, DefaultTenantID, authz.RoleAdminID)
	}
	author := "created_by"
	if ok, err := has("conversations", "user_id"); err != nil {
		return snap, err
	} else if ok {
		author = "user_id"
	}
	queries["conversations"] = `SELECT id, ` + author + ` AS user_id, title, metadata, created_at, updated_at FROM conversations`
	for _, t := range Tables {
		var sum TableSum
		q := `SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(l.*)::text), 1, 15))::bit(60)::bigint), 0)::text FROM (` + queries[t] + `) AS l`
		if err := tx.QueryRowContext(ctx, q).Scan(&sum.Rows, &sum.Checksum); err != nil {
			return snap, fmt.Errorf("legacy: snapshot %s: %w", t, err)
		}
		snap.Tables[t] = sum
	}
	return snap, tx.Commit()
}

// Check is one validation and its outcome.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Report is the outcome of Validate.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

func (r *Report) add(name string, ok bool, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: detail})
}

// MarshalJSON keeps checks an array when empty.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	if r.Checks == nil {
		r.Checks = []Check{}
	}
	return json.Marshal(plain(r))
}

// Validate checks a migrated database: every migration applied and the
// schema equal to ent's; no legacy table left; no tenant-owned row without a
// tenant or an author; every user a member with a role; and, given the
// snapshot taken before migrating (PostgreSQL only), every legacy table's row
// count and checksum unchanged. It reads only. An error means it could not
// check; failed checks are in the report.
func Validate(ctx context.Context, db *sql.DB, dia string, before *Snapshot) (Report, error) {
	var rep Report
	st, err := migrate.Status(ctx, db, dia)
	if err != nil {
		return rep, err
	}
	switch {
	case st.Error != "":
		rep.add("migrations applied", false, fmt.Sprintf("version %s failed: %s", st.Current, st.Error))
	case st.Pending > 0:
		rep.add("migrations applied", false, fmt.Sprintf("%d pending: %s", st.Pending, strings.Join(st.PendingFiles, ", ")))
	default:
		rep.add("migrations applied", true, fmt.Sprintf("at version %s, %d files", st.Current, st.Total))
	}
	if !rep.Checks[0].OK {
		return rep, nil // the other checks describe a migrated database
	}
	if err := migrate.Verify(ctx, db, dia); err != nil {
		rep.add("schema equals the ent schema", false, firstLines(err.Error(), 12))
	} else {
		rep.add("schema equals the ent schema", true, "")
	}
	if dia == dialect.Postgres {
		left, err := tableExists(ctx, db, "old_users")
		if err != nil {
			return rep, err
		}
		detail := ""
		if left {
			detail = "old_users"
		}
		rep.add("no legacy table left", !left, detail)
	}
	if err := nullColumns(ctx, db, &rep); err != nil {
		return rep, err
	}
	if err := memberships(ctx, db, &rep); err != nil {
		return rep, err
	}
	if before != nil {
		if dia != dialect.Postgres {
			return rep, errors.New("legacy: snapshots exist only on PostgreSQL")
		}
		now, err := TakeSnapshot(ctx, db)
		if err != nil {
			return rep, err
		}
		diff := now.Diff(*before)
		var n int64
		for _, t := range Tables {
			n += now.Tables[t].Rows
		}
		detail := fmt.Sprintf("%d legacy rows in %d tables, as in the snapshot of %s", n, len(Tables), before.TakenAt.Format(time.RFC3339))
		if len(diff) > 0 {
			detail = strings.Join(diff, "; ")
		}
		rep.add("legacy rows and checksums preserved", len(diff) == 0, detail)
	}
	rep.OK = true
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	return rep, nil
}

// nullColumns counts rows without tenant_id or created_by in every table
// where ent requires them.
func nullColumns(ctx context.Context, db *sql.DB, rep *Report) error {
	var bad []string
	checked := 0
	for _, t := range entmigrate.Tables {
		var cols []string
		for _, c := range t.Columns {
			if (c.Name == "tenant_id" || c.Name == "created_by") && !c.Nullable {
				cols = append(cols, c.Name)
			}
		}
		if !slices.Contains(cols, "tenant_id") {
			continue
		}
		checked++
		for _, c := range cols {
			var n int64
			if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %q WHERE %q IS NULL`, t.Name, c)).Scan(&n); err != nil {
				// A table or column not there yet (an unmigrated database).
				bad = append(bad, fmt.Sprintf("%s.%s: cannot count (%v)", t.Name, c, err))
				continue
			}
			if n > 0 {
				bad = append(bad, fmt.Sprintf("%s.%s: %d rows", t.Name, c, n))
			}
		}
	}
	detail := fmt.Sprintf("%d tenant-owned tables", checked)
	if len(bad) > 0 {
		detail = "NULL in " + strings.Join(bad, ", ")
	}
	rep.add("no NULL tenant_id or created_by", len(bad) == 0, detail)
	return nil
}

// memberships checks that every user who is not erased has an active
// membership, and every active membership at least one role.
func memberships(ctx context.Context, db *sql.DB, rep *Report) error {
	var users, noMember, noRole int64
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users WHERE status <> 'erased'),
		(SELECT count(*) FROM users u WHERE u.status <> 'erased'
			AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.status = 'active')),
		(SELECT count(*) FROM memberships m WHERE m.status = 'active'
			AND NOT EXISTS (SELECT 1 FROM member_roles r WHERE r.user_id = m.user_id AND r.tenant_id = m.tenant_id))`).Scan(&users, &noMember, &noRole)
	if err != nil {
		rep.add("every user is an active member", false, fmt.Sprintf("cannot count (%v)", err))
		return nil
	}
	rep.add("every user is an active member", noMember == 0, fmt.Sprintf("%d users, %d without an active membership", users, noMember))
	rep.add("every member has a role", noRole == 0, fmt.Sprintf("%d active memberships without a role", noRole))
	return nil
}

// firstLines keeps the first n lines of s and says how many it dropped.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n… %d more lines", len(lines)-n)
}
