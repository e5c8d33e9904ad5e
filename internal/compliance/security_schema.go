package compliance

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"entgo.io/ent/dialect"

	"atrium/internal/migrate"
)

// SafeColumns are the columns whose names look like stored secrets but are
// not, each with the reason. Any other password-like column fails the check:
// a new one needs a reason here, reviewed like any security change.
var SafeColumns = map[string]string{
	"refresh_tokens.token_hash":             "SHA-256 of a 256-bit random refresh token; the token itself is never stored",
	"invitations.token_hash":                "SHA-256 of a single-use random invitation token; the token itself is never stored",
	"audit_events.hash":                     "hash chain over audit events (tamper evidence), not a credential",
	"audit_events.prev_hash":                "hash chain over audit events (tamper evidence), not a credential",
	"audit_events.hash_version":             "the format of the audit hash chain link (internal/audit), a small number",
	"audit_anchors.hash":                    "hash of the last pruned audit event, where a pruned chain resumes; not a credential",
	"signing_keys.private_key_enc":          "token signing key, sealed with AES-256-GCM under the key-encryption key",
	"atlas_schema_revisions.hash":           "checksum of an applied migration file",
	"atlas_schema_revisions.partial_hashes": "checksums of the statements of a partly applied migration file",
}

// Name fragments of stored credentials. substrings match anywhere in a
// column name; words match one underscore-separated word, because as
// substrings they hit innocent names ("shipping", "spinner").
var (
	credentialSubstrings = []string{"password", "passwd", "passphrase", "passcode", "secret", "hash", "salt", "private_key", "privatekey"}
	credentialWords      = []string{"pwd", "pin", "otp", "totp", "pass"}
)

// passwordLike reports whether a column name suggests a stored credential.
func passwordLike(column string) bool {
	c := strings.ToLower(column)
	for _, s := range credentialSubstrings {
		if strings.Contains(c, s) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(c, func(r rune) bool { return r == '_' || r == '-' || r == ' ' }) {
		if slices.Contains(credentialWords, w) {
			return true
		}
	}
	return false
}

// schemaColumns lists "table.column" of every column in the live schema,
// sorted.
func schemaColumns(ctx context.Context, env *Env) ([]string, error) {
	var q string
	switch env.Dialect {
	case dialect.Postgres:
		q = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = ANY (current_schemas(false)) ORDER BY 1, 2`
	case dialect.SQLite:
		q = `SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY 1, 2`
	default:
		return nil, fmt.Errorf("unknown database dialect %q", env.Dialect)
	}
	rows, err := env.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, fmt.Errorf("list columns: %w", err)
		}
		cols = append(cols, table+"."+column)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	slices.Sort(cols)
	return cols, nil
}

// checkNoPasswordColumns: users have no password, so no column may look
// like one unless SafeColumns explains it.
func checkNoPasswordColumns(ctx context.Context, env *Env) error {
	cols, err := schemaColumns(ctx, env)
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return fmt.Errorf("the schema has no columns: wrong database?")
	}
	var ps problemList
	for _, col := range cols {
		_, column, _ := strings.Cut(col, ".")
		if _, safe := SafeColumns[col]; !safe && passwordLike(column) {
			ps.add("column %s looks like a stored credential (add it to compliance.SafeColumns with a reason if it is not)", col)
		}
	}
	return ps.err()
}

// checkMigrations: every migration file is applied, and none failed halfway.
func checkMigrations(ctx context.Context, env *Env) error {
	st, err := migrate.Status(ctx, env.DB, env.Dialect)
	if err != nil {
		return err
	}
	var ps problemList
	if st.Pending > 0 {
		ps.add("%d of %d migrations pending (%s): run atrium migrate apply", st.Pending, st.Total, strings.Join(st.PendingFiles, ", "))
	}
	if st.Error != "" {
		ps.add("migration %s failed: %s", st.Current, st.Error)
	}
	return ps.err()
}
