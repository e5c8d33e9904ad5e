package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/legacy"
	"atrium/internal/testkit"
)

// TestLegacyAdoptionCLI walks the runbook (docs/migration-runbook.md) with
// the commands an operator types, on PostgreSQL: fixture, snapshot, dry run,
// apply --baseline, validate, an enrollment link for a legacy user, down to
// the baseline, up again. It uses t.Setenv, so it does not run in parallel.
func TestLegacyAdoptionCLI(t *testing.T) {
	url := testkit.PostgresURL(t)
	t.Setenv("ATRIUM_DATABASE_URL", url)
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	t.Setenv("ATRIUM_KEY_ENCRYPTION_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=") // 32 bytes, test only
	ctx := context.Background()
	atrium := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errs := atrium(args...)
		require.Equal(t, exitOK, code, "atrium %v: %s%s", args, out, errs)
		return out
	}
	dir := t.TempDir()
	snapFile := filepath.Join(dir, "legacy-snapshot.json")

	must("dev", "legacy-fixture", "--schema", "--users", "12", "--admins", "2", "--conversations", "30", "--documents", "5", "--agents", "2", "--teams", "2", "--knowledge-graphs", "2", "--seed", "5")
	require.Contains(t, must("migrate", "snapshot", "--out", snapFile), "legacy shape")
	plan := must("migrate", "apply", "--baseline", legacy.BaselineVersion, "--dry-run")
	require.Contains(t, plan, "20261101000700_drop_old_users.sql")
	require.Contains(t, must("migrate", "status"), "pending", "the dry run changed nothing")

	require.Contains(t, must("migrate", "apply", "--baseline", legacy.BaselineVersion), "version none -> ")
	var rep legacy.Report
	require.NoError(t, json.Unmarshal([]byte(must("migrate", "validate", "--snapshot", snapFile, "--json")), &rep))
	require.True(t, rep.OK)
	require.Len(t, rep.Checks, 7)

	// A legacy user gets in with a one-time enrollment link.
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	var email string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT email FROM users ORDER BY created_at LIMIT 1`).Scan(&email))
	require.Contains(t, must("tenant", "reenroll", "--tenant", "default", "--email", email), "/#/enroll?invitation=inv_")
	code, _, errs := atrium("tenant", "reenroll", "--tenant", "default", "--email", "nobody@example.com")
	require.Equal(t, exitFail, code)
	require.Contains(t, errs, "no user with that email")
	code, _, _ = atrium("tenant", "reenroll", "--tenant", "default")
	require.Equal(t, exitConfig, code)

	// Back to the legacy shape: validate fails, the legacy content is intact.
	must("migrate", "down", "--to", legacy.BaselineVersion)
	code, out, _ := atrium("migrate", "validate", "--snapshot", snapFile)
	require.Equal(t, exitFail, code)
	require.Contains(t, out, "❌ migrations applied")
	after := filepath.Join(dir, "after-down.json")
	must("migrate", "snapshot", "--out", after)
	requireSameTables(t, snapFile, after)

	must("migrate", "apply")
	must("migrate", "validate", "--snapshot", snapFile)

	// A file that is not a snapshot is a usage error.
	require.NoError(t, os.WriteFile(after, []byte(`{"nope": 1}`), 0o600))
	code, _, errs = atrium("migrate", "validate", "--snapshot", after)
	require.Equal(t, exitConfig, code)
	require.Contains(t, errs, "not a snapshot")
}

func requireSameTables(t *testing.T, a, b string) {
	t.Helper()
	var sa, sb legacy.Snapshot
	for f, s := range map[string]*legacy.Snapshot{a: &sa, b: &sb} {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, s))
	}
	require.Equal(t, sa.Tables, sb.Tables)
}
