package compliance_test

import (
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/compliance"
	"atrium/internal/testkit"
)

func TestRowLevelSecurityCheck(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run("OK/"+db.Name, func(t *testing.T) {
			t.Parallel()
			b := setupSecurity(t, db.Open(t))
			requireCheckPass(t, b.env, compliance.CheckRowLevelSecurity)
		})
	}
	pg := func(t *testing.T) *secBundle {
		t.Helper()
		b := setupSecurity(t, testkit.Postgres(t))
		require.Equal(t, dialect.Postgres, b.db.Dialect)
		requireCheckPass(t, b.env, compliance.CheckRowLevelSecurity)
		return b
	}
	t.Run("ErrDisabled", func(t *testing.T) {
		t.Parallel()
		b := pg(t)
		_, err := b.db.DB.Exec(`ALTER TABLE "documents" DISABLE ROW LEVEL SECURITY`)
		require.NoError(t, err)
		requireCheckFail(t, b.env, compliance.CheckRowLevelSecurity, "table documents has a tenant_id but row-level security is disabled")
	})
	t.Run("ErrNoPolicy", func(t *testing.T) {
		t.Parallel()
		b := pg(t)
		for _, p := range []string{"atrium_tenant", "atrium_self", "atrium_system"} {
			_, err := b.db.DB.Exec(`DROP POLICY "` + p + `" ON "agents"`)
			require.NoError(t, err)
		}
		requireCheckFail(t, b.env, compliance.CheckRowLevelSecurity, "table agents has a tenant_id but no row-level security policy")
	})
	t.Run("ErrNewTableWithoutRLS", func(t *testing.T) {
		t.Parallel()
		b := pg(t)
		_, err := b.db.DB.Exec(`CREATE TABLE "widgets" ("id" uuid PRIMARY KEY, "tenant_id" uuid NOT NULL)`)
		require.NoError(t, err)
		requireCheckFail(t, b.env, compliance.CheckRowLevelSecurity, "table widgets has a tenant_id but row-level security is disabled")
	})
}
