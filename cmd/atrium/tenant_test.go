package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTenantCreate: the bootstrap command prints a one-time enrollment link.
// It uses t.Setenv, so it does not run in parallel.
func TestTenantCreate(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(ctx, []string{"tenant", "create", "--name", "Acme Corp", "--admin-email", "ada@example.com"}, &out, &errb)
		require.Equal(t, exitOK, code, errb.String())
		require.Contains(t, out.String(), "slug acme-corp")
		require.Contains(t, out.String(), "/#/enroll?invitation=inv_")
	})
	t.Run("ErrDuplicateSlug", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(ctx, []string{"tenant", "create", "--name", "Acme Corp"}, &out, &errb)
		require.Equal(t, exitFail, code)
		require.NotContains(t, out.String(), "inv_")
		require.Contains(t, errb.String(), "atrium tenant create: a tenant with slug \"acme-corp\" exists; choose another with --slug\n")
		require.NotContains(t, errb.String(), "UNIQUE")
	})
	t.Run("ErrNoName", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"tenant", "create"}, &out, &errb))
		require.Contains(t, errb.String(), "--name is required")
	})
	t.Run("ErrBadSlug", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"tenant", "create", "--name", "x", "--slug", "Not OK"}, &out, &errb))
		require.True(t, strings.Contains(errb.String(), "slug"))
	})
}

func TestSlugify(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Acme Corp": "acme-corp", "  Été 2026!! ": "t-2026", "a--b": "a-b"} {
		require.Equal(t, want, slugify(in), in)
	}
}

// TestServeBadConfig: a bad configuration is one clear error and exit 2.
func TestServeBadConfig(t *testing.T) {
	t.Setenv("ATRIUM_LOG_LEVEL", "loud")
	t.Setenv("ATRIUM_PUBLIC_URL", "nope")
	var out, errb bytes.Buffer
	require.Equal(t, exitConfig, run(context.Background(), []string{"serve"}, &out, &errb))
	require.Contains(t, errb.String(), "ATRIUM_LOG_LEVEL")
	require.Contains(t, errb.String(), "ATRIUM_PUBLIC_URL")
}

// TestServeConfigAtOnce: serve's own checks (listen address, KEK with
// PostgreSQL, plain http on the internet) join Load's problems in one report,
// after a warning for a misspelt variable.
func TestServeConfigAtOnce(t *testing.T) {
	t.Setenv("ATRIUM_HTTP_ADDR", "nope")
	t.Setenv("ATRIUM_DATABASE_URL", "postgres://u@db/atrium")
	t.Setenv("ATRIUM_KEY_ENCRYPTION_KEY", "")
	t.Setenv("ATRIUM_PUBLIC_URL", "http://atrium.example.com")
	t.Setenv("ATRIUM_DATABSE_URL", "x")
	var out, errb bytes.Buffer
	require.Equal(t, exitConfig, run(context.Background(), []string{"serve"}, &out, &errb))
	for _, want := range []string{
		"warning: unknown variable ATRIUM_DATABSE_URL is ignored (did you mean ATRIUM_DATABASE_URL?)",
		"ATRIUM_HTTP_ADDR", "ATRIUM_KEY_ENCRYPTION_KEY: required with PostgreSQL", "ATRIUM_PUBLIC_URL: http:// only for localhost",
	} {
		require.Contains(t, errb.String(), want)
	}
}

// TestAuditVerify: verify passes on an intact trail and fails, naming the
// event, on a tampered one.
func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATRIUM_DATA_DIR", dir)
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--name", "Audited"}, &out, &errb), errb.String())
	out.Reset()
	require.Equal(t, exitOK, run(ctx, []string{"audit", "verify"}, &out, &errb), out.String())
	require.Contains(t, out.String(), "✅")

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "atrium.db"))
	require.NoError(t, err)
	_, err = db.Exec("UPDATE audit_events SET action = 'forged'")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	out.Reset()
	require.Equal(t, exitFail, run(ctx, []string{"audit", "verify", "--json"}, &out, &errb))
	require.Contains(t, out.String(), `"Kind":"edited"`)
}

func TestNoArguments(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	require.Equal(t, exitConfig, run(context.Background(), nil, &out, &errb))
	require.Contains(t, errb.String(), "Usage: atrium <command>")
	require.Empty(t, out.String())
}
