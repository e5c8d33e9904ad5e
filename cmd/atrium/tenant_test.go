package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/config"
)

// TestTenantCreate: the bootstrap command says which database it uses,
// refuses to create one unless asked (--init), and prints a one-time
// enrollment link for the URL the server serves: with only ATRIUM_HTTP_ADDR
// set, http://localhost on that port. It uses t.Setenv, so it does not run
// in parallel.
func TestTenantCreate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATRIUM_DATA_DIR", dir)
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_PUBLIC_URL", "")
	t.Setenv("ATRIUM_HTTP_ADDR", ":9093")
	t.Setenv("ATRIUM_KEY_ENCRYPTION_KEY", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	dbPath := filepath.Join(dir, "atrium.db")
	t.Run("ErrNoDatabase", func(t *testing.T) {
		// Run from another directory than the server's: no new database, no
		// new key, exit 2 and what to do.
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"tenant", "create", "--name", "Acme Corp"}, &out, &errb))
		require.Contains(t, out.String(), "Database: SQLite "+dbPath)
		require.Contains(t, errb.String(), "no database at "+dbPath)
		require.Contains(t, errb.String(), "--init")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, entries, "neither database nor key created")
	})
	t.Run("OK", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(ctx, []string{"tenant", "create", "--name", "Acme Corp", "--admin-email", "ada@example.com", "--init"}, &out, &errb)
		require.Equal(t, exitOK, code, errb.String())
		require.Contains(t, out.String(), "Database: SQLite "+dbPath)
		require.Contains(t, out.String(), "slug acme-corp")
		// The URL the server will serve with this configuration.
		cfg, err := config.FromEnv()
		require.NoError(t, err)
		require.Equal(t, "http://localhost:9093", cfg.PublicURL)
		require.Contains(t, out.String(), "\n  http://localhost:9093/#/enroll?invitation=inv_")
		require.FileExists(t, filepath.Join(dir, "kek"))
	})
	t.Run("OKExisting", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--name", "Second"}, &out, &errb), errb.String())
	})
	t.Run("ErrNoKEK", func(t *testing.T) {
		// The database's key-encryption key is missing: a new one could
		// not decrypt its signing keys, so none is made.
		kek := filepath.Join(dir, "kek")
		b, err := os.ReadFile(kek)
		require.NoError(t, err)
		require.NoError(t, os.Remove(kek))
		defer func() { require.NoError(t, os.WriteFile(kek, b, 0o600)) }()
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"tenant", "create", "--name", "Third"}, &out, &errb))
		require.Contains(t, errb.String(), "no key-encryption key")
		require.NoFileExists(t, kek)
	})
	t.Run("ErrDuplicateSlug", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(ctx, []string{"tenant", "create", "--name", "Acme Corp"}, &out, &errb)
		require.Equal(t, exitFail, code)
		require.NotContains(t, out.String(), "inv_")
		require.Contains(t, errb.String(), "atrium tenant create: a tenant with slug \"acme-corp\" already exists; choose another with --slug\n")
		require.NotContains(t, errb.String(), "UNIQUE")
		require.NotContains(t, errb.String(), "constraint")
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
	t.Run("ErrUnknownFlag", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"tenant", "create", "--name", "x", "--nope"}, &out, &errb))
	})
	t.Run("ErrUnknownSubcommand", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(ctx, []string{"tenant", "delete"}, &out, &errb))
		require.Contains(t, errb.String(), `unknown subcommand "delete"`)
	})
}

// TestTenantInvite: a lost first-admin link is replaced by the command the
// create output names; the old link is revoked (audited), the command finds
// the tenant by slug or id, and an unknown tenant is a clear error.
func TestTenantInvite(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATRIUM_DATA_DIR", dir)
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_PUBLIC_URL", "")
	t.Setenv("ATRIUM_HTTP_ADDR", "")
	t.Setenv("ATRIUM_KEY_ENCRYPTION_KEY", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	do := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	tokenRE := regexp.MustCompile(`invitation=(inv_[A-Za-z0-9_-]+)`)
	code, out, errs := do("tenant", "create", "--name", "Acme", "--init")
	require.Equal(t, exitOK, code, errs)
	first := tokenRE.FindStringSubmatch(out)[1]
	id := regexp.MustCompile(`\(id ([0-9a-f-]{36}),`).FindStringSubmatch(out)[1]

	// The hint names a command that exists; run exactly it.
	hint := regexp.MustCompile(`'(atrium tenant invite [^']+)'`).FindStringSubmatch(out)
	require.NotNil(t, hint, out)
	code, out, errs = do(strings.Fields(hint[1])[1:]...)
	require.Equal(t, exitOK, code, errs)
	require.Contains(t, out, "Database: SQLite "+filepath.Join(dir, "atrium.db"))
	require.Contains(t, out, "Revoked 1 earlier admin link(s)")
	second := tokenRE.FindStringSubmatch(out)[1]
	require.NotEqual(t, first, second)
	require.Contains(t, out, "http://localhost:8080/#/enroll?invitation=inv_")

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "atrium.db"))
	require.NoError(t, err)
	defer db.Close()
	var revoked, pending int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM invitations WHERE revoked_at IS NOT NULL`).Scan(&revoked))
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM invitations WHERE revoked_at IS NULL AND used_at IS NULL`).Scan(&pending))
	require.Equal(t, 1, revoked)
	require.Equal(t, 1, pending)
	var audited int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'invitation.revoked'`).Scan(&audited))
	require.Equal(t, 1, audited)

	t.Run("OKByID", func(t *testing.T) {
		code, out, errs := do("tenant", "invite", "--tenant", id, "--email", "ada@example.com")
		require.Equal(t, exitOK, code, errs)
		require.Contains(t, out, "Revoked 1 earlier admin link(s)")
	})
	t.Run("ErrUnknownTenant", func(t *testing.T) {
		code, out, errs := do("tenant", "invite", "--tenant", "nope")
		require.Equal(t, exitFail, code)
		require.NotContains(t, out, "inv_")
		require.True(t, strings.HasSuffix(errs, "\natrium tenant invite: no tenant with slug or id \"nope\"\n"), errs)
	})
	t.Run("ErrNoTenant", func(t *testing.T) {
		code, _, errs := do("tenant", "invite")
		require.Equal(t, exitConfig, code)
		require.Contains(t, errs, "--tenant is required")
	})
	t.Run("ErrBadEmail", func(t *testing.T) {
		code, _, _ := do("tenant", "invite", "--tenant", "acme", "--email", "nobody")
		require.Equal(t, exitConfig, code)
	})
	t.Run("ErrNoDatabase", func(t *testing.T) {
		t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
		code, _, errs := do("tenant", "invite", "--tenant", "acme")
		require.Equal(t, exitConfig, code)
		require.Contains(t, errs, "no database at")
	})
	t.Run("ErrReenrollNeverEnrolled", func(t *testing.T) {
		// The first admin never enrolled: reenroll cannot help, and says
		// which command does.
		code, _, errs := do("tenant", "reenroll", "--tenant", "acme", "--email", "ada@example.com")
		require.Equal(t, exitFail, code)
		require.Contains(t, errs, "atrium tenant invite --tenant acme")
	})
}

// TestDescribeDatabase: the database a command uses is named without its
// password.
func TestDescribeDatabase(t *testing.T) {
	t.Parallel()
	got := describeDatabase(&config.Config{DatabaseURL: "postgres://atrium:s3cret@db:5432/atrium?sslmode=disable&password=hunter2"})
	require.Contains(t, got, "PostgreSQL postgres://atrium:xxxxx@db:5432/atrium?")
	require.NotContains(t, got, "s3cret")
	require.NotContains(t, got, "hunter2")
	require.Contains(t, describeDatabase(&config.Config{DataDir: "/srv/atrium"}), "SQLite /srv/atrium/atrium.db")
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
	require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--name", "Audited", "--init"}, &out, &errb), errb.String())
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

// TestExitCodes: the documented exit codes (docs/cli.md) for usage errors
// and help.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"help"}, exitOK},
		{[]string{"--help"}, exitOK},
		{[]string{"tenant"}, exitOK},
		{[]string{"nope"}, exitConfig},
		{[]string{"tenant", "nope"}, exitConfig},
		{[]string{"tenant", "invite", "extra-argument"}, exitConfig},
		{[]string{"sessions", "revoke", "--all", "--tenant", "not-a-uuid"}, exitConfig},
	} {
		var out, errb bytes.Buffer
		require.Equal(t, c.want, run(context.Background(), c.args, &out, &errb), "%v: %s", c.args, errb.String())
	}
}
