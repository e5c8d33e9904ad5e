package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"atrium/ent/tenant"
	"atrium/ent/user"
	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

const tenantUsage = `Usage:
  atrium tenant create --name NAME [--slug SLUG] [--admin-email EMAIL]
  atrium tenant reenroll --tenant SLUG (--email EMAIL | --user ID)

create makes a tenant and an invitation for its first admin, and prints the
one-time enrollment link. Open it in a browser to enroll a passkey; the
invitation expires in 7 days and works once. The token is printed here and
nowhere else: only its hash is stored.

reenroll prints a one-time link with which an existing member enrolls a
device: the way in for users adopted from a legacy database, who have none
(docs/migration-runbook.md), and for a member who lost every device.

Configuration comes from ATRIUM_* variables (see 'atrium serve --help').
`

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "reenroll" {
		return runTenantReenroll(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stdout, tenantUsage)
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			return exitOK
		}
		return exitConfig
	}
	fs := flag.NewFlagSet("atrium tenant create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "display name of the tenant (required)")
	slug := fs.String("slug", "", "unique short name: lowercase letters, digits and dashes (default: from the name)")
	email := fs.String("admin-email", "", "email of the first admin (optional; kept on their user once they enroll)")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitConfig
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
	return withApp(ctx, stderr, "atrium tenant create", func(a *app.App) int { return tenantCreate(ctx, a, *name, *slug, *email, stdout, stderr) })
}

// withApp builds the application from the ATRIUM_* configuration for a
// command name, runs f and closes it.
func withApp(ctx context.Context, stderr io.Writer, name string, f func(*app.App) int) int {
	cfg, ok := loadConfig(stderr, name, (*config.Config).CheckKEK)
	if !ok {
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

func tenantCreate(ctx context.Context, a *app.App, name, slug, email string, stdout, stderr io.Writer) int {
	var adminEmail *string
	if email != "" {
		adminEmail = &email
	}
	t, inv, err := a.Passkeys.BootstrapTenant(ctx, strings.TrimSpace(name), slug, adminEmail)
	if fault.CodeOf(err) == fault.Conflict {
		fmt.Fprintf(stderr, "atrium tenant create: a tenant with slug %q exists; choose another with --slug\n", slug)
		return exitFail
	}
	if err != nil {
		fmt.Fprintf(stderr, "atrium tenant create: %s\n", userMessage(err))
		return exitFail
	}
	fmt.Fprintf(stdout, "Tenant %q created (id %s, slug %s).\n\n", t.Name, t.ID, t.Slug)
	fmt.Fprintf(stdout, "First admin's enrollment link (works once, expires %s):\n\n  %s\n\n",
		inv.Invitation.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), inv.URL)
	fmt.Fprintln(stdout, "Send it over a private channel. It is not shown again; if it is lost, create another tenant admin invitation.")
	return exitOK
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
	slug := fs.String("tenant", "", "slug of the tenant (required; a migrated legacy database has \"default\")")
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
	return withApp(ctx, stderr, "atrium tenant reenroll", func(a *app.App) int { return tenantReenroll(ctx, a, *slug, *email, uid, stdout, stderr) })
}

func tenantReenroll(ctx context.Context, a *app.App, slug, email string, uid uuid.UUID, stdout, stderr io.Writer) int {
	sys := viewer.System(ctx, viewer.ReasonOperator)
	t, err := a.DB.Client.Tenant.Query().Where(tenant.Slug(slug)).Only(sys)
	if err != nil {
		fmt.Fprintf(stderr, "atrium tenant reenroll: tenant %q not found\n", slug)
		return exitFail
	}
	if email != "" {
		u, err := a.DB.Client.User.Query().Where(user.Email(strings.TrimSpace(email))).Only(sys)
		if err != nil {
			fmt.Fprintln(stderr, "atrium tenant reenroll: no user with that email")
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
