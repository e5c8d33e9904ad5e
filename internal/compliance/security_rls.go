package compliance

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect"

	"atrium/internal/rls"
)

// checkRowLevelSecurity checks the second wall between tenants on
// PostgreSQL (internal/rls): every table with a tenant_id column has
// row-level security enabled and at least one policy, and the role the
// server's queries run as can neither skip it (superuser, BYPASSRLS) nor own
// a table without FORCE ROW LEVEL SECURITY. SQLite has no row-level security
// and relies on the ent privacy rules alone; the check passes there.
func checkRowLevelSecurity(ctx context.Context, env *Env) error {
	if env.Dialect != dialect.Postgres {
		return nil
	}
	var ps problemList
	var super, bypass, member bool
	err := env.DB.QueryRowContext(ctx, `SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, r.oid, 'MEMBER')
		FROM pg_roles r WHERE r.rolname = $1`, rls.Role).Scan(&super, &bypass, &member)
	switch {
	case err != nil:
		ps.add("role %s: %v (run atrium migrate apply; docs/security.md)", rls.Role, err)
	default:
		if super {
			ps.add("role %s is a superuser: row-level security does not apply to it", rls.Role)
		}
		if bypass {
			ps.add("role %s has BYPASSRLS: row-level security does not apply to it", rls.Role)
		}
		if !member {
			ps.add("the connecting role is not a member of %s: the server cannot SET ROLE to it", rls.Role)
		}
	}
	rows, err := env.DB.QueryContext(ctx, `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
			pg_get_userbyid(c.relowner),
			(SELECT count(*) FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
		  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
		ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("list tenant-owned tables: %w", err)
	}
	defer rows.Close()
	tables := 0
	for rows.Next() {
		var table, owner string
		var enabled, forced bool
		var policies int
		if err := rows.Scan(&table, &enabled, &forced, &owner, &policies); err != nil {
			return fmt.Errorf("list tenant-owned tables: %w", err)
		}
		tables++
		if !enabled {
			ps.add("table %s has a tenant_id but row-level security is disabled", table)
		}
		if policies == 0 {
			ps.add("table %s has a tenant_id but no row-level security policy", table)
		}
		if owner == rls.Role && !forced {
			ps.add("table %s is owned by %s without FORCE ROW LEVEL SECURITY: its policies do not apply to the server", table, rls.Role)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list tenant-owned tables: %w", err)
	}
	if tables == 0 {
		ps.add("no table with a tenant_id found in schema %s", "current_schema()")
	}
	return ps.err()
}
