package migrate

import (
	"encoding/json"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for dev databases
	_ "modernc.org/sqlite"             // "sqlite" driver for dev databases

	"atrium/internal/authz"
)

// SystemRolesSQL is the data migration that seeds the system roles of
// internal/authz (fixed IDs, no tenant) in a dialect, as upserts: when the
// grants of a system role change, `atrium migrate new NAME --system-roles`
// writes the next file with the same generator. A test keeps the seeded rows
// equal to authz.SystemRoles.
func SystemRolesSQL(dia string) (string, error) {
	var now, q string
	switch dia {
	case dialect.Postgres:
		now, q = "now()", `"`
	case dialect.SQLite:
		// The text layout Go's SQLite drivers write and read for time.Time.
		now, q = "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')", "`"
	default:
		return "", fmt.Errorf("migrate: unsupported dialect %q", dia)
	}
	cols := []string{"id", "created_at", "updated_at", "tenant_id", "name", "description", "system", "permissions"}
	for i, c := range cols {
		cols[i] = q + c + q
	}
	var b strings.Builder
	b.WriteString("-- Seed the system roles shared by every tenant (internal/authz.SystemRoles).\n")
	for _, r := range authz.SystemRoles {
		perms, err := json.Marshal(r.Grants)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "INSERT INTO %sroles%s (%s) VALUES (%s, %s, %s, NULL, %s, %s, true, %s)"+
			" ON CONFLICT (%sid%s) DO UPDATE SET %sdescription%s = excluded.%sdescription%s, %spermissions%s = excluded.%spermissions%s, %supdated_at%s = excluded.%supdated_at%s;\n",
			q, q, strings.Join(cols, ", "), quote(r.ID.String()), now, now, quote(r.Name), quote(r.Description), quote(string(perms)),
			q, q, q, q, q, q, q, q, q, q, q, q, q, q)
	}
	return b.String(), nil
}

// quote is a SQL string literal; the inputs are constants of this program.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
