// Command atrium is the one Atrium binary: serve, migrate, keys, tenant, audit, dev.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "atrium/ent/runtime" // ent privacy policies; without it ent fails closed
	"atrium/internal/app"
	"atrium/internal/config"
)

// Exit codes.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server", runServe},
		{"migrate", "apply, inspect and diff database migrations", runMigrate},
		{"keys", "list and rotate token signing keys", runKeys},
		{"tenant", "create a tenant and its first admin's enrollment link", runTenant},
		{"audit", "verify and prune the audit trail; check security and GDPR", runAudit},
		{"dev", "development helpers: a legacy (pre-auth) database fixture", runDev},
		{"version", "print version, commit, build date and Go version (also --version)", runVersion},
		{"healthcheck", "exit 0 if this instance's /api/v1/ready answers 200 (container HEALTHCHECK)", runHealthcheck},
		{"backup", "write a consistent copy of the SQLite database (PostgreSQL: pg_dump)", runBackup},
		{"restore", "replace the SQLite database with a backup", runRestore},
		{"sessions", "revoke every session (of a tenant), on every instance", runSessions},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "atrium: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitConfig
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: atrium <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'atrium <command> --help' for a command's flags. Configuration comes from ATRIUM_* environment variables; see 'atrium serve --help'.")
}

// withDatabase loads the configuration and opens the database for the
// command name, runs f and closes the database. A bad configuration (or, with
// needKEK, a missing key-encryption key) exits 2; an unreachable database 1.
func withDatabase(ctx context.Context, stderr io.Writer, name string, needKEK bool, f func(*config.Config, *app.Database) int) int {
	cfg, err := config.FromEnv()
	if err == nil && needKEK {
		err = cfg.CheckKEK()
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", name, err)
		return exitConfig
	}
	db, err := app.OpenDatabase(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	defer db.Close()
	return f(cfg, db)
}
