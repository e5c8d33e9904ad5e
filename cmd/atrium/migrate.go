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

const migrateUsage = `Usage: atrium migrate <subcommand> [flags]

Subcommands:
  apply [--baseline V] [--dry-run]   apply pending migrations to the configured database
  status                             show applied and pending migrations
  down [--to V] [--dry-run] [-v]     revert the last applied migration (with --to V, every
                                     version newer than V, newest first; 0 reverts all)
  down-plan VERSION [--dialect D] [--dev-url URL] [--write]
                                     draft the down script of a migration file from a schema
                                     diff (print it, or write migrations/<D>/down/<file>)
  snapshot [--out FILE]              record row counts and checksums of the legacy
                                     tables (PostgreSQL), before migrating
  validate [--snapshot FILE] [--json]
                                     check the migrated database: all applied, schema
                                     equals ent, no NULL tenant_id/created_by, every
                                     user a member with a role, legacy rows preserved
                                     (exit 1 on any failure)
  diff NAME [--dialect D] [--dev-url URL]
                                     write the next migration file(s) from the ent schema
  check [--dialect D] [--dev-url URL]
                                     fail if atlas.sum is stale or a diff would write anything
  new NAME [--dialect D] [--system-roles]
                                     add a hand-written (data) migration file and rehash
  hash [--dialect D]                 rehash atlas.sum after editing a file by hand

apply, status, down, snapshot and validate use the database configured by ATRIUM_* variables (see
'atrium serve --help'). diff, check, new, hash and down-plan work on ./migrations and
must run from the repository root; D is postgres, sqlite or all (default all).
`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, migrateUsage)
		return exitOK
	}
	sub, args := args[0], args[1:]
	fs := newMigrateFlagSet(sub, "", stderr)
	switch sub {
	case "apply":
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
			return exitOK
		})
	case "status":
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
	case "diff", "check":
		dia := fs.String("dialect", "all", "postgres, sqlite or all")
		devURL := fs.String("dev-url", "", "PostgreSQL dev database, dropped and recreated (default "+migrate.DefaultPostgresDevURL+")")
		nargs := 0
		if sub == "diff" {
			nargs = 1
		}
		if code, ok := parseFlags(fs, args, nargs); !ok {
			return code
		}
		dias, err := dialects(*dia)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
		}
		if sub == "check" {
			return forEach(dias, stderr, func(d string) error {
				if err := migrate.Check(ctx, d, *devURL); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s: migrations in sync with the ent schema\n", d)
				return nil
			})
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
	case "new":
		dia := fs.String("dialect", "all", "postgres, sqlite or all")
		roles := fs.Bool("system-roles", false, "fill the file with the seed of internal/authz.SystemRoles")
		if code, ok := parseFlags(fs, args, 1); !ok {
			return code
		}
		dias, err := dialects(*dia)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
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
	case "down":
		return runMigrateDown(ctx, args, stdout, stderr)
	case "down-plan":
		return runMigrateDownPlan(ctx, args, stdout, stderr)
	case "snapshot":
		return runMigrateSnapshot(ctx, fs, args, stdout, stderr)
	case "validate":
		return runMigrateValidate(ctx, fs, args, stdout, stderr)
	case "hash":
		dia := fs.String("dialect", "all", "postgres, sqlite or all")
		if code, ok := parseFlags(fs, args, 0); !ok {
			return code
		}
		dias, err := dialects(*dia)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
		}
		return forEach(dias, stderr, func(d string) error { return migrate.Hash(d) })
	default:
		fmt.Fprintf(stderr, "atrium migrate: unknown subcommand %q\n\n%s", sub, migrateUsage)
		return exitConfig
	}
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
