package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"entgo.io/ent/dialect"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/legacy"
)

// runMigrateSnapshot: atrium migrate snapshot [--out FILE]
func runMigrateSnapshot(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	out := fs.String("out", "", "write the snapshot to `FILE` instead of stdout")
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	return withDatabase(ctx, stderr, "atrium migrate snapshot", false, func(_ *config.Config, db *app.Database) int {
		if db.Dialect != dialect.Postgres {
			fmt.Fprintln(stderr, "atrium migrate snapshot: legacy databases are PostgreSQL; this one is", db.Dialect)
			return exitConfig
		}
		snap, err := legacy.TakeSnapshot(ctx, db.DB)
		if err != nil {
			fmt.Fprintln(stderr, "atrium migrate snapshot:", err)
			return exitFail
		}
		b, _ := json.MarshalIndent(snap, "", "  ")
		b = append(b, '\n')
		if *out == "" {
			stdout.Write(b)
			return exitOK
		}
		if err := os.WriteFile(*out, b, 0o600); err != nil {
			fmt.Fprintln(stderr, "atrium migrate snapshot:", err)
			return exitFail
		}
		var rows int64
		for _, t := range snap.Tables {
			rows += t.Rows
		}
		fmt.Fprintf(stdout, "snapshot of %d legacy rows (%s shape) written to %s\n", rows, snap.Shape, *out)
		return exitOK
	})
}

// runMigrateValidate: atrium migrate validate [--snapshot FILE] [--json]
func runMigrateValidate(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	snapFile := fs.String("snapshot", "", "compare legacy row counts and checksums with the snapshot in `FILE` (from 'atrium migrate snapshot' before migrating)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	var before *legacy.Snapshot
	if *snapFile != "" {
		b, err := os.ReadFile(*snapFile)
		if err != nil {
			fmt.Fprintln(stderr, "atrium migrate validate:", err)
			return exitConfig
		}
		before = new(legacy.Snapshot)
		if err := json.Unmarshal(b, before); err != nil || before.Tables == nil {
			fmt.Fprintf(stderr, "atrium migrate validate: %s is not a snapshot from 'atrium migrate snapshot' (%v)\n", *snapFile, err)
			return exitConfig
		}
	}
	return withDatabase(ctx, stderr, "atrium migrate validate", false, func(_ *config.Config, db *app.Database) int {
		rep, err := legacy.Validate(ctx, db.DB, db.Dialect, before)
		if err != nil {
			fmt.Fprintln(stderr, "atrium migrate validate:", err)
			return exitFail
		}
		if *asJSON {
			b, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			for _, c := range rep.Checks {
				mark := "✅"
				if !c.OK {
					mark = "❌"
				}
				if c.Detail != "" {
					fmt.Fprintf(stdout, "%s %s: %s\n", mark, c.Name, c.Detail)
				} else {
					fmt.Fprintf(stdout, "%s %s\n", mark, c.Name)
				}
			}
		}
		if !rep.OK {
			return exitFail
		}
		return exitOK
	})
}
