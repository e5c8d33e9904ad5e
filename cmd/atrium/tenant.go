package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/tenant"
	"atrium/ent/user"
	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/fault"
	"atrium/internal/passkey"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

const tenantUsage = `Usage:
  atrium tenant create --name NAME [--slug SLUG] [--admin-email EMAIL] [--init]
  atrium tenant invite --tenant SLUG|ID [--email EMAIL]
  atrium tenant reenroll --tenant SLUG (--email EMAIL | --user ID)

create makes a tenant and an invitation for its first admin, and prints the
one-time enrollment link. Open it in a browser to enroll a passkey; the
invitation expires in 7 days and works once. The token is printed here and
nowhere else: only its hash is stored.

invite prints a new one-time admin enrollment link for an existing tenant:
the way to replace a lost first-admin link. The admin links the command line
issued before for that tenant (create's, earlier invite's) are revoked.

reenroll prints a one-time link with which an existing member enrolls a
device: the way in for users adopted from a legacy database, who have none
(docs/migration-runbook.md), and for a member who lost every device.

Each command first prints the database it uses (PostgreSQL URL without its
password, or the SQLite file). On the embedded default it refuses to create
a database that does not exist yet - run it with the server's ATRIUM_DATA_DIR
(or from the server's directory) - unless 'create --init' asks for a new one.
The links are for ATRIUM_PUBLIC_URL (default http://localhost:<port of
ATRIUM_HTTP_ADDR>): give the command the server's configuration.

Configuration comes from ATRIUM_* variables (see 'atrium serve --help').
`

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "reenroll":
			return runTenantReenroll(ctx, args[1:], stdout, stderr)
		case "invite":
			return runTenantInvite(ctx, args[1:], stdout, stderr)
		}
	}
	if len(args) == 0 || args[0] != "create" {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, tenantUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "atrium tenant: unknown subcommand %q\n\n", args[0])
		fmt.Fprint(stderr, tenantUsage)
		return exitConfig
	}
	fs := flag.NewFlagSet("atrium tenant create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "display name of the tenant (required)")
	slug := fs.String("slug", "", "unique short name: lowercase letters, digits and dashes (default: from the name)")
	email := fs.String("admin-email", "", "email of the first admin (optional; kept on their user once they enroll)")
	initDB := fs.Bool("init", false, "on the embedded default (SQLite), create the database (and its key-encryption key) if it does not exist yet")
	if code, ok := parseFlags(fs, args[1:], 0); !ok {
		return code
	}
	if strings.TrimSpace(*name) == "" {
		fmt.Fprintln(stderr, "atrium tenant create: --name is required")
		return exitConfig
	}
	if *slug == "" {
		*slug = slugify(*name)
	}
	if !slugRE.MatchString(*slug) {
		fmt.Fprintf(stderr, "atrium tenant create: slug %q: use 1-63 lowercase letters, digits and dashes\n", *slug)
		return exitConfig
	}
	return withAppOpts(ctx, stdout, stderr, "atrium tenant create", *initDB, func(a *app.App) int { return tenantCreate(ctx, a, *name, *slug, *email, stdout, stderr) })
}

// withApp builds the application from the ATRIUM_* configuration for a
// command name, runs f and closes it. It never creates a database: on the
// embedded default a missing SQLite file is an error (see withAppOpts).
func withApp(ctx context.Context, stderr io.Writer, name string, f func(*app.App) int) int {
	return withAppOpts(ctx, nil, stderr, name, false, f)
}

// withAppOpts is withApp that first prints, when describe is not nil, which
// database the command uses, and that creates a missing SQLite database
// (and key-encryption key) only when initDB says so. Without it, a command
// run from another directory than the server (./data is relative) would
// silently work on a fresh, empty database with a key of its own.
func withAppOpts(ctx context.Context, describe, stderr io.Writer, name string, initDB bool, f func(*app.App) int) int {
	cfg, ok := loadConfig(stderr, name, (*config.Config).CheckKEK)
	if !ok {
		return exitConfig
	}
	if describe != nil {
		fmt.Fprintf(describe, "Database: %s\n", describeDatabase(cfg))
	}
	if err := checkDatabaseExists(cfg, initDB); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitConfig
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	defer a.Close()
	return f(a)
}

// describeDatabase names the database of cfg for an operator: the
// PostgreSQL URL with its password redacted, or the absolute path of the
// SQLite file.
func describeDatabase(cfg *config.Config) string {
	if cfg.IsPostgres() {
		return "PostgreSQL " + redactURL(cfg.DatabaseURL)
	}
	p := cfg.SQLitePath()
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return fmt.Sprintf("SQLite %s (ATRIUM_DATA_DIR=%s)", p, cfg.DataDir)
}

// redactURL hides the password of a database URL, in its user info and in
// a password query parameter (both of which pgx reads).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// checkDatabaseExists refuses, on the embedded default, to let app.New
// create a SQLite database or a key-encryption key unless initDB: a
// command run from the wrong directory would work on a fresh, empty database,
// and a new key cannot decrypt the signing keys an existing database holds.
func checkDatabaseExists(cfg *config.Config, initDB bool) error {
	if cfg.IsPostgres() {
		return nil // never created here; app.New reports a missing or unmigrated one
	}
	db, err := filepath.Abs(cfg.SQLitePath())
	if err != nil {
		return err
	}
	_, err = os.Stat(db)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if initDB {
			return nil
		}
		rel := ""
		if !filepath.IsAbs(cfg.DataDir) {
			rel = fmt.Sprintf(" (ATRIUM_DATA_DIR=%s is relative to the current directory)", cfg.DataDir)
		}
		return fmt.Errorf("no database at %s%s: run this command with the server's ATRIUM_DATA_DIR or ATRIUM_DATABASE_URL, "+
			"or pass --init to create a new, empty database", db, rel)
	case err != nil:
		return fmt.Errorf("database %s: %w", db, err)
	}
	if len(cfg.KeyEncryptionKey) == 0 && !initDB {
		kek := filepath.Join(filepath.Dir(db), token.KEKFile)
		if _, err := os.Stat(kek); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the database %s has no key-encryption key beside it (%s) and ATRIUM_KEY_ENCRYPTION_KEY is empty: "+
				"restore that file from the backup made with the database, or set ATRIUM_KEY_ENCRYPTION_KEY "+
				"(a new key cannot decrypt the signing keys the database holds); if the database is new and holds none yet, pass --init to create a key", db, kek)
		}
	}
	return nil
}

func tenantCreate(ctx context.Context, a *app.App, name, slug, email string, stdout, stderr io.Writer) int {
	var adminEmail *string
	if email != "" {
		adminEmail = &email
	}
	t, inv, err := a.Passkeys.BootstrapTenant(ctx, strings.TrimSpace(name), slug, adminEmail)
	if fault.CodeOf(err) == fault.Conflict {
		fmt.Fprintf(stderr, "atrium tenant create: a tenant with slug %q already exists; choose another with --slug\n", slug)
		return exitFail
	}
	if err != nil {
		fmt.Fprintf(stderr, "atrium tenant create: %s\n", userMessage(err))
		return exitFail
	}
	fmt.Fprintf(stdout, "Tenant %q created (id %s, slug %s).\n\n", t.Name, t.ID, t.Slug)
	printLink(stdout, "First admin's enrollment link", inv)
	fmt.Fprintf(stdout, "Send it over a private channel. It is not shown again; if it is lost, run\n'atrium tenant invite --tenant %s' for a new one (this one is then revoked).\n", t.Slug)
	return exitOK
}

// printLink prints an invitation's link and says which server it is for:
// the link only works where the server serves ATRIUM_PUBLIC_URL.
func printLink(stdout io.Writer, what string, inv *passkey.Invited) {
	fmt.Fprintf(stdout, "%s (works once, expires %s):\n\n  %s\n\n", what,
		inv.Invitation.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), inv.URL)
	fmt.Fprintln(stdout, "It opens the server at ATRIUM_PUBLIC_URL (default http://localhost:<port of ATRIUM_HTTP_ADDR>);\nthe server must run with the same setting, and passkeys need the browser to use exactly that origin.")
}

// runTenantInvite: atrium tenant invite --tenant SLUG|ID [--email EMAIL]
func runTenantInvite(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium tenant invite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ref := fs.String("tenant", "", "the tenant's slug or id (required)")
	email := fs.String("email", "", "email of the admin (optional; kept on their user once they enroll)")
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	if *ref == "" {
		fmt.Fprintln(stderr, "atrium tenant invite: --tenant is required (the tenant's slug or id)")
		return exitConfig
	}
	var adminEmail *string
	if *email != "" {
		if !strings.Contains(*email, "@") || len(*email) > 320 {
			fmt.Fprintf(stderr, "atrium tenant invite: --email %q is not an email address\n", *email)
			return exitConfig
		}
		adminEmail = email
	}
	return withAppOpts(ctx, stdout, stderr, "atrium tenant invite", false, func(a *app.App) int {
		t, err := findTenant(ctx, a, *ref)
		if err != nil {
			fmt.Fprintf(stderr, "atrium tenant invite: %s\n", userMessage(err))
			return exitFail
		}
		inv, revoked, err := a.Passkeys.OperatorAdminInvitation(ctx, t.ID, adminEmail)
		if err != nil {
			fmt.Fprintf(stderr, "atrium tenant invite: %s\n", userMessage(err))
			return exitFail
		}
		fmt.Fprintf(stdout, "New admin invitation for tenant %q (id %s, slug %s).\n", t.Name, t.ID, t.Slug)
		if len(revoked) > 0 {
			fmt.Fprintf(stdout, "Revoked %d earlier admin link(s) issued here: they no longer work.\n", len(revoked))
		}
		fmt.Fprintln(stdout)
		printLink(stdout, "Admin enrollment link", inv)
		fmt.Fprintln(stdout, "Send it over a private channel. It is not shown again.")
		return exitOK
	})
}

// findTenant finds a tenant by id or slug.
func findTenant(ctx context.Context, a *app.App, ref string) (*ent.Tenant, error) {
	sys := viewer.System(ctx, viewer.ReasonOperator)
	q := a.DB.Client.Tenant.Query()
	if id, err := uuid.Parse(ref); err == nil {
		q.Where(tenant.ID(id))
	} else {
		q.Where(tenant.Slug(ref))
	}
	t, err := q.Only(sys)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "no tenant with slug or id %q", ref)
	}
	return t, fault.FromEnt(err, "tenant")
}

func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 63 {
		s = strings.Trim(s[:63], "-")
	}
	return s
}

// runTenantReenroll: atrium tenant reenroll --tenant SLUG (--email E | --user ID)
func runTenantReenroll(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium tenant reenroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("tenant", "", "slug or id of the tenant (required; a migrated legacy database has \"default\")")
	email := fs.String("email", "", "the member's email")
	userID := fs.String("user", "", "the member's user id")
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	if *slug == "" || (*email == "") == (*userID == "") {
		fmt.Fprintln(stderr, "atrium tenant reenroll: want --tenant and exactly one of --email or --user")
		return exitConfig
	}
	var uid uuid.UUID
	if *userID != "" {
		var err error
		if uid, err = uuid.Parse(*userID); err != nil {
			fmt.Fprintf(stderr, "atrium tenant reenroll: --user: %v\n", err)
			return exitConfig
		}
	}
	return withAppOpts(ctx, stdout, stderr, "atrium tenant reenroll", false, func(a *app.App) int { return tenantReenroll(ctx, a, *slug, *email, uid, stdout, stderr) })
}

func tenantReenroll(ctx context.Context, a *app.App, slug, email string, uid uuid.UUID, stdout, stderr io.Writer) int {
	sys := viewer.System(ctx, viewer.ReasonOperator)
	t, err := findTenant(ctx, a, slug)
	if err != nil {
		fmt.Fprintf(stderr, "atrium tenant reenroll: %s\n", userMessage(err))
		return exitFail
	}
	if email != "" {
		u, err := a.DB.Client.User.Query().Where(user.Email(strings.TrimSpace(email))).Only(sys)
		if err != nil {
			fmt.Fprintf(stderr, "atrium tenant reenroll: no user with that email (a first admin whose link was lost never enrolled, so has no user yet: 'atrium tenant invite --tenant %s' issues a new admin link)\n", t.Slug)
			return exitFail
		}
		uid = u.ID
	}
	inv, err := a.Passkeys.Reenroll(viewer.SystemForTenant(ctx, t.ID, viewer.ReasonOperator), uid, 0)
	if err != nil {
		fmt.Fprintf(stderr, "atrium tenant reenroll: %s\n", userMessage(err))
		return exitFail
	}
	fmt.Fprintf(stdout, "Enrollment link for user %s in tenant %s (works once, expires %s):\n\n  %s\n\n",
		uid, t.Slug, inv.Invitation.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), inv.URL)
	fmt.Fprintln(stdout, "Send it over a private channel. It is not shown again.")
	return exitOK
}
