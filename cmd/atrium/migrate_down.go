package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/migrate"
)

// Flag help of the down subcommands.
const (
	migrateDownUsage = `  down [--to V] [--dry-run] [-v]     revert the last applied migration (with --to V, every
                                     version newer than V, newest first; 0 reverts all)
`
	migrateDownPlanUsage = `  down-plan VERSION [--dialect D] [--dev-url URL] [--write]
                                     draft the down script of a migration file from a schema
                                     diff (print it, or write migrations/<D>/down/<file>)
`
)

// newMigrateFlagSet is the flag set of one migrate subcommand; its help
// starts with the subcommand's flag help.
func newMigrateFlagSet(sub, usage string, stderr io.Writer) *flag.FlagSet {
	flags := flag.NewFlagSet("atrium migrate "+sub, flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage of atrium migrate %s:\n", sub)
		if usage != "" {
			fmt.Fprintln(stderr, usage)
		}
		flags.PrintDefaults()
	}
	return flags
}

// runMigrateDown implements `atrium migrate down`: it runs the down scripts
// of migrations/<dialect>/down on the configured database.
func runMigrateDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newMigrateFlagSet("down", migrateDownUsage, stderr)
	to := flags.String("to", "", "revert every applied version newer than `V` (0 reverts everything); default: the last one only")
	dry := flags.Bool("dry-run", false, "print the plan and change nothing")
	verbose := flags.Bool("v", false, "log every statement")
	if code, ok := parseFlags(flags, args, 0); !ok {
		return code
	}
	return withDatabase(ctx, stderr, "atrium migrate", false, func(_ *config.Config, db *app.Database) int {
		var opts []migrate.DownOption
		if *to != "" {
			opts = append(opts, migrate.WithTo(*to))
		}
		if *dry {
			opts = append(opts, migrate.WithDownDryRun(stdout))
		}
		if *verbose {
			opts = append(opts, migrate.WithDownLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		}
		rep, err := migrate.Down(ctx, db.DB, db.Dialect, opts...)
		if err != nil {
			fmt.Fprintln(stderr, "atrium migrate down:", err)
			return exitFail
		}
		if len(rep.Reverted) == 0 {
			fmt.Fprintf(stdout, "nothing to revert on %s; version %s\n", rep.Dialect, orNone(rep.From))
			return exitOK
		}
		verb := "reverted"
		if rep.DryRun {
			verb = "would revert"
		}
		fmt.Fprintf(stdout, "%s %d files (%d statements) on %s in %s; version %s -> %s\n",
			verb, len(rep.Reverted), rep.Statements, rep.Dialect, rep.Duration.Round(1e6), orNone(rep.From), orNone(rep.To))
		return exitOK
	})
}

// runMigrateDownPlan implements `atrium migrate down-plan VERSION`: it drafts
// the down script of a file of ./migrations with migrate.PlanDown.
func runMigrateDownPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newMigrateFlagSet("down-plan", migrateDownPlanUsage, stderr)
	dia := flags.String("dialect", "all", "postgres, sqlite or all")
	devURL := flags.String("dev-url", "", "PostgreSQL dev database, dropped and recreated (default "+migrate.DefaultPostgresDevURL+")")
	write := flags.Bool("write", false, "write migrations/<dialect>/down/<file> (never overwriting one) instead of printing")
	if code, ok := parseFlags(flags, args, 1); !ok {
		return code
	}
	version := flags.Arg(0)
	dias, err := dialects(*dia)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	return forEach(dias, stderr, func(d string) error {
		dir, err := migrate.LocalDir(d)
		if err != nil {
			return err
		}
		if err := atlasmigrate.Validate(dir); err != nil {
			return fmt.Errorf("%s: %w", dir.Path(), err)
		}
		files, err := dir.Files()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(files, func(f atlasmigrate.File) bool { return f.Version() == version })
		if i < 0 {
			return fmt.Errorf("%s has no file with version %q", dir.Path(), version)
		}
		script, err := migrate.PlanDown(ctx, d, *devURL, dir, version)
		if err != nil {
			return err
		}
		path := filepath.Join(dir.Path(), migrate.DownDirName, files[i].Name())
		if !*write {
			if len(dias) > 1 {
				fmt.Fprintf(stdout, "-- %s\n", path)
			}
			fmt.Fprint(stdout, script)
			return nil
		}
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; delete it to plan it again", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: wrote %s (review it: data statements are not reversed)\n", d, path)
		return nil
	})
}
