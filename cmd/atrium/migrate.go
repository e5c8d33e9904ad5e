package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"entgo.io/ent/dialect"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/migrate"
)

// subcommand is one subcommand of a command with several (migrate, audit):
// its name, the synopsis of its arguments and flags, a summary, and its run
// function (which parses its own flags). The command's usage is generated
// from its table.
type subcommand struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// dispatch runs the subcommand args[0] of the command name; with no argument
// or help it prints the usage (exit 0 for help, 2 without arguments), and an
// unknown subcommand is a usage error.
func dispatch(ctx context.Context, name, footer string, subs []subcommand, args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: atrium %s <subcommand> [flags]\n\nSubcommands:\n", name)
		for _, s := range subs {
			line := s.name
			if s.synopsis != "" {
				line += " " + s.synopsis
			}
			if len(line) > 34 {
				fmt.Fprintf(w, "  %s\n  %-34s %s\n", line, "", indent(s.summary, 37))
				continue
			}
			fmt.Fprintf(w, "  %-34s %s\n", line, indent(s.summary, 37))
		}
		fmt.Fprint(w, "\n"+footer)
	}
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "atrium %s: unknown subcommand %q\n\n", name, args[0])
	usage(stderr)
	return exitConfig
}

// indent continues the lines of a multi-line summary under its first.
func indent(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

const migrateFooter = `apply, status, down, snapshot and validate use the database configured by ATRIUM_* variables (see
'atrium serve --help'). diff, check, new, hash and down-plan work on ./migrations and
must run from the repository root; D is postgres, sqlite or all (default all).
`

func migrateSubcommands() []subcommand {
	return []subcommand{
		{"apply", "[--baseline V] [--dry-run]", "apply pending migrations to the configured database", runMigrateApply},
		{"status", "", "show applied and pending migrations", runMigrateStatus},
		{"down", "[--to V] [--dry-run] [-v]", "revert the last applied migration (with --to V, every\nversion newer than V, newest first; 0 reverts all)", runMigrateDown},
		{"down-plan", "VERSION [--dialect D] [--dev-url URL] [--write]", "draft the down script of a migration file from a schema\ndiff (print it, or write migrations/<D>/down/<file>)", runMigrateDownPlan},
		{"snapshot", "[--out FILE]", "record row counts and checksums of the legacy\ntables (PostgreSQL), before migrating", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runMigrateSnapshot(ctx, newMigrateFlagSet("snapshot", "", stderr), args, stdout, stderr)
		}},
		{"validate", "[--snapshot FILE] [--json]", "check the migrated database: all applied, schema\nequals ent, no NULL tenant_id/created_by, every\nuser a member with a role, legacy rows preserved\n(exit 1 on any failure)", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runMigrateValidate(ctx, newMigrateFlagSet("validate", "", stderr), args, stdout, stderr)
		}},
		{"diff", "NAME [--dialect D] [--dev-url URL]", "write the next migration file(s) from the ent schema", runMigrateDiff},
		{"check", "[--dialect D] [--dev-url URL]", "fail if atlas.sum is stale, a diff would write anything,\nor lint fails (see lint)", runMigrateCheck},
		{"lint", "[--dialect D] [--dev-url URL] [-v]", "the lint policy of atlas.hcl (atlas's destructive and\ndata-dependent checks) on every file; -v lists the\nfindings silenced by an allowed atlas:nolint", runMigrateLint},
		{"new", "NAME [--dialect D] [--system-roles]", "add a hand-written (data) migration file and rehash", runMigrateNew},
		{"hash", "[--dialect D]", "rehash atlas.sum after editing a file by hand", runMigrateHash},
	}
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "migrate", migrateFooter, migrateSubcommands(), args, stdout, stderr)
}

func runMigrateApply(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newMigrateFlagSet("apply", "", stderr)
	baseline := fs.String("baseline", "", "on a database without revisions, mark versions up to `V` as applied without running them")
	dry := fs.Bool("dry-run", false, "print the plan and change nothing")
	verbose := fs.Bool("v", false, "log every statement")
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	return withDatabase(ctx, stderr, "atrium migrate", false, func(_ *config.Config, db *app.Database) int {
		opts := []migrate.Option{}
		if *baseline != "" {
			opts = append(opts, migrate.WithBaseline(*baseline))
		}
		if *dry {
			opts = append(opts, migrate.WithDryRun(stdout))
		}
		if *verbose {
			opts = append(opts, migrate.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		}
		rep, err := migrate.Apply(ctx, db.DB, db.Dialect, opts...)
		if err != nil {
			fmt.Fprintln(stderr, "atrium migrate apply:", err)
			return exitFail
		}
		verb := "applied"
		if rep.DryRun {
			verb = "would apply"
		}
		if rep.Baseline != "" {
			fmt.Fprintf(stdout, "baseline at version %s\n", rep.Baseline)
		}
		fmt.Fprintf(stdout, "%s %d files (%d statements) on %s in %s; version %s -> %s\n",
			verb, len(rep.Applied), rep.Statements, rep.Dialect, rep.Duration.Round(1e6), orNone(rep.From), orNone(rep.To))
		if rep.Analyzed > 0 {
			fmt.Fprintf(stdout, "analysed %d tables\n", rep.Analyzed)
		}
		return exitOK
	})
}

func runMigrateStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newMigrateFlagSet("status", "", stderr)
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	return withDatabase(ctx, stderr, "atrium migrate", false, func(_ *config.Config, db *app.Database) int {
		st, err := migrate.Status(ctx, db.DB, db.Dialect)
		if err != nil {
			fmt.Fprintln(stderr, "atrium migrate status:", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "dialect:  %s\ncurrent:  %s\napplied:  %d of %d\npending:  %d\n", st.Dialect, orNone(st.Current), st.Applied, st.Total, st.Pending)
		for _, f := range st.PendingFiles {
			fmt.Fprintf(stdout, "  %s\n", f)
		}
		if st.Error != "" {
			fmt.Fprintf(stdout, "error:    %s\n", st.Error)
			return exitFail
		}
		return exitOK
	})
}

// dialectFlags parses the flags of a subcommand working on ./migrations
// with nargs positional arguments; ok false means return code.
func dialectFlags(fs *flag.FlagSet, args []string, nargs int, stderr io.Writer, dia *string) (dias []string, code int, ok bool) {
	if code, ok := parseFlags(fs, args, nargs); !ok {
		return nil, code, false
	}
	dias, err := dialects(*dia)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitConfig, false
	}
	return dias, exitOK, true
}

func runMigrateCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newMigrateFlagSet("check", "", stderr)
	dia := fs.String("dialect", "all", "postgres, sqlite or all")
	devURL := fs.String("dev-url", "", "PostgreSQL dev database, dropped and recreated (default "+migrate.DefaultPostgresDevURL+")")
	dias, code, ok := dialectFlags(fs, args, 0, stderr, dia)
	if !ok {
		return code
	}
	return forEach(dias, stderr, func(d string) error {
		if err := migrate.Check(ctx, d, *devURL); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: migrations in sync with the ent schema\n", d)
		return lintDialect(ctx, d, *devURL, false, stdout)
	})
}

// runMigrateLint: atrium migrate lint [--dialect D] [--dev-url URL] [-v]
func runMigrateLint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newMigrateFlagSet("lint", "", stderr)
	dia := fs.String("dialect", "all", "postgres, sqlite or all")
	devURL := fs.String("dev-url", "", "PostgreSQL dev database, dropped and recreated (default "+migrate.DefaultPostgresDevURL+")")
	verbose := fs.Bool("v", false, "also list the findings an allowed atlas:nolint silences")
	dias, code, ok := dialectFlags(fs, args, 0, stderr, dia)
	if !ok {
		return code
	}
	return forEach(dias, stderr, func(d string) error { return lintDialect(ctx, d, *devURL, *verbose, stdout) })
}

// lintDialect lints d's migration directory; verbose also lists the findings
// an allowed atlas:nolint silences.
func lintDialect(ctx context.Context, d, devURL string, verbose bool, stdout io.Writer) error {
	diags, err := migrate.Lint(ctx, d, devURL)
	if verbose {
		for _, x := range diags {
			if x.Silenced {
				fmt.Fprintln(stdout, x)
			}
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: lint passed\n", d)
	return nil
}

func runMigrateDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newMigrateFlagSet("diff", "", stderr)
	dia := fs.String("dialect", "all", "postgres, sqlite or all")
	devURL := fs.String("dev-url", "", "PostgreSQL dev database, dropped and recreated (default "+migrate.DefaultPostgresDevURL+")")
	dias, code, ok := dialectFlags(fs, args, 1, stderr, dia)
	if !ok {
		return code
	}
	version, err := nextVersion(dias)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	return forEach(dias, stderr, func(d string) error {
		switch err := migrate.Diff(ctx, d, *devURL, fs.Arg(0), migrate.WithVersion(version)); {
		case errors.Is(err, migrate.ErrNoChanges):
			fmt.Fprintf(stdout, "%s: no changes\n", d)
		case err != nil:
			return err
		default:
			fmt.Fprintf(stdout, "%s: wrote %s_%s.sql\n", d, version, fs.Arg(0))
		}
		return nil
	})
}

func runMigrateNew(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newMigrateFlagSet("new", "", stderr)
	dia := fs.String("dialect", "all", "postgres, sqlite or all")
	roles := fs.Bool("system-roles", false, "fill the file with the seed of internal/authz.SystemRoles")
	dias, code, ok := dialectFlags(fs, args, 1, stderr, dia)
	if !ok {
		return code
	}
	version, err := nextVersion(dias)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	return forEach(dias, stderr, func(d string) error {
		content := "-- Hand-written migration. Rehash with `atrium migrate hash` after editing.\n"
		if *roles {
			if content, err = migrate.SystemRolesSQL(d); err != nil {
				return err
			}
		}
		name, err := migrate.NewFile(d, fs.Arg(0), content, migrate.WithVersion(version))
		if err == nil {
			fmt.Fprintf(stdout, "%s: wrote %s\n", d, name)
		}
		return err
	})
}

func runMigrateHash(_ context.Context, args []string, _, stderr io.Writer) int {
	fs := newMigrateFlagSet("hash", "", stderr)
	dia := fs.String("dialect", "all", "postgres, sqlite or all")
	dias, code, ok := dialectFlags(fs, args, 0, stderr, dia)
	if !ok {
		return code
	}
	return forEach(dias, stderr, func(d string) error { return migrate.Hash(d) })
}

// parseFlags parses flags and expects exactly nargs positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, nargs int) (int, bool) {
	// Allow flags after the positional argument (diff NAME --dialect sqlite).
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK, false
			}
			return exitConfig, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != nargs {
		fmt.Fprintf(fs.Output(), "%s: want %d argument(s), got %d\n", fs.Name(), nargs, len(pos))
		fs.Usage()
		return exitConfig, false
	}
	fs.Parse(pos) // so fs.Arg(i) returns the positional arguments
	return exitOK, true
}

func dialects(s string) ([]string, error) {
	switch strings.ToLower(s) {
	case "all", "":
		return []string{dialect.Postgres, dialect.SQLite}, nil
	case "postgres", "postgresql", "pg":
		return []string{dialect.Postgres}, nil
	case "sqlite", "sqlite3":
		return []string{dialect.SQLite}, nil
	default:
		return nil, fmt.Errorf("atrium migrate: unknown dialect %q (want postgres, sqlite or all)", s)
	}
}

// nextVersion picks one version newer than every file of the dialects, so a
// change gets the same version in each directory.
func nextVersion(dias []string) (string, error) { return migrate.NextVersionOf(dias) }

func forEach(dias []string, stderr io.Writer, f func(string) error) int {
	for _, d := range dias {
		if err := f(d); err != nil {
			fmt.Fprintf(stderr, "atrium migrate: %s: %v\n", d, err)
			return exitFail
		}
	}
	return exitOK
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
