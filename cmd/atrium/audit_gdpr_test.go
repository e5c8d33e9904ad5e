package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"atrium/internal/app"
	"atrium/internal/compliance"
	"atrium/internal/migrate"
)

// gdprDB points the configuration at a fresh, migrated SQLite database with
// one tenant (and so some audit events), and returns a raw handle on it.
func gdprDB(t *testing.T) *sql.DB {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("ATRIUM_DATA_DIR", dir)
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	db, err := app.OpenSQLite(ctx, filepath.Join(dir, "atrium.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = migrate.Apply(ctx, db.DB, dialect.SQLite)
	require.NoError(t, err)
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--name", "Acme", "--admin-email", "ada@example.com", "--init"}, &out, &errb), errb.String())
	return db.DB
}

// auditGDPR runs the command with --json and returns its exit code and the
// results by check name.
func auditGDPR(t *testing.T) (int, map[string]compliance.GDPRCheck) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runAuditGDPR(context.Background(), []string{"--json"}, &out, &errb)
	var res struct {
		OK     bool                   `json:"ok"`
		Checks []compliance.GDPRCheck `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res), "stdout: %s\nstderr: %s", out.String(), errb.String())
	by := map[string]compliance.GDPRCheck{}
	for _, c := range res.Checks {
		by[c.Name] = c
	}
	require.Len(t, by, 4)
	require.Equal(t, code == exitOK, res.OK)
	return code, by
}

// TestAuditGDPR: every check passes on a healthy database, and each one
// fails when what it guards is broken. It uses t.Setenv, so it does not run
// in parallel.
func TestAuditGDPR(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		gdprDB(t)
		var out, errb bytes.Buffer
		code := runAuditGDPR(context.Background(), nil, &out, &errb)
		require.Equal(t, exitOK, code, "%s\n%s", out.String(), errb.String())
		require.Contains(t, out.String(), "✅ export")
		require.Contains(t, out.String(), "✅ erasure")
		require.Contains(t, out.String(), "✅ minimisation")
		require.Contains(t, out.String(), "✅ audit")
		require.NotContains(t, out.String(), "❌")

		code, by := auditGDPR(t)
		require.Equal(t, exitOK, code)
		for name, c := range by {
			require.True(t, c.OK, "%s: %v", name, c.Problems)
		}
	})
	t.Run("OK/ProbesLeaveNoTrace", func(t *testing.T) {
		db := gdprDB(t)
		count := func() (n int) {
			require.NoError(t, db.QueryRow("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM tenants) + (SELECT count(*) FROM audit_events)").Scan(&n))
			return n
		}
		before := count()
		code, _ := auditGDPR(t)
		require.Equal(t, exitOK, code)
		require.Equal(t, before, count())
	})
	t.Run("ErrExportIncomplete", func(t *testing.T) {
		db := gdprDB(t)
		// Messages vanish as they are written: the export lacks them.
		_, err := db.Exec("CREATE TRIGGER lose_messages AFTER INSERT ON messages BEGIN DELETE FROM messages WHERE id = NEW.id; END")
		require.NoError(t, err)
		code, by := auditGDPR(t)
		require.Equal(t, exitFail, code)
		require.False(t, by[compliance.GDPRExport].OK)
		require.Contains(t, by[compliance.GDPRExport].Problems[0], "resources")
	})
	t.Run("ErrErasureLeavesData", func(t *testing.T) {
		db := gdprDB(t)
		// A table erasure does not know keeps a copy of every email.
		_, err := db.Exec("CREATE TABLE mail_log (note TEXT); CREATE TRIGGER keep_mail AFTER INSERT ON users BEGIN INSERT INTO mail_log (note) VALUES (NEW.email); END")
		require.NoError(t, err)
		code, by := auditGDPR(t)
		require.Equal(t, exitFail, code)
		require.True(t, by[compliance.GDPRExport].OK, by[compliance.GDPRExport].Problems)
		require.False(t, by[compliance.GDPRErasure].OK)
		require.Contains(t, by[compliance.GDPRErasure].Problems, "left behind: mail_log.note: 1 row(s)")
	})
	t.Run("ErrPersonalColumn", func(t *testing.T) {
		db := gdprDB(t)
		_, err := db.Exec("ALTER TABLE teams ADD COLUMN phone TEXT")
		require.NoError(t, err)
		code, by := auditGDPR(t)
		require.Equal(t, exitFail, code)
		require.False(t, by[compliance.GDPRMinimisation].OK)
		require.Equal(t, []string{"unexpected personal-data column teams.phone"}, by[compliance.GDPRMinimisation].Problems)
		require.True(t, by[compliance.GDPRAudit].OK)
	})
	t.Run("ErrAuditTampered", func(t *testing.T) {
		db := gdprDB(t)
		_, err := db.Exec("UPDATE audit_events SET action = 'forged' WHERE seq = 1")
		require.NoError(t, err)
		code, by := auditGDPR(t)
		require.Equal(t, exitFail, code)
		require.False(t, by[compliance.GDPRAudit].OK)
		require.Contains(t, by[compliance.GDPRAudit].Problems[0], "edited")
		require.True(t, by[compliance.GDPRMinimisation].OK)
	})
	t.Run("ErrBadFlag", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, runAuditGDPR(context.Background(), []string{"--nope"}, &out, &errb))
	})
}
