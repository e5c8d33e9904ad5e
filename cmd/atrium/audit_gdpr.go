package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"atrium/internal/app"
	"atrium/internal/compliance"
	"atrium/internal/config"
	"atrium/internal/migrate"
)

const auditGDPRUsage = `Usage: atrium audit gdpr [--json]

Checks, on the configured database, that Atrium honours data-subject rights:

  export        a throwaway person's export carries every category of their data
  erasure       erasing them leaves nothing but a tombstone id and audit pseudonyms
  minimisation  no column name suggests personal data beyond the documented ones
  audit         every audit chain verifies

The export and erasure probes run in a transaction that is rolled back: the
database is not changed. Exit status 1 if any check fails.

Configuration comes from ATRIUM_* variables (see 'atrium serve --help').
`

// runAuditGDPR runs `atrium audit gdpr`; args follow "gdpr".
func runAuditGDPR(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium audit gdpr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditGDPRUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "atrium audit gdpr: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	return withDatabase(ctx, stderr, "atrium audit gdpr", false, func(_ *config.Config, db *app.Database) int {
		if n, err := migrate.Pending(ctx, db.DB, db.Dialect); err == nil && n > 0 {
			fmt.Fprintf(stderr, "atrium audit gdpr: the database schema is %d migration(s) behind this binary; the probes may fail until 'atrium migrate apply'\n", n)
		}
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		checks := compliance.CheckGDPR(ctx, db.Client, db.DB, db.Dialect, log)
		ok := true
		for _, c := range checks {
			ok = ok && c.OK
		}
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(map[string]any{"ok": ok, "checks": checks})
		} else {
			for _, c := range checks {
				mark := "✅"
				if !c.OK {
					mark = "❌"
				}
				fmt.Fprintf(stdout, "%s %s: %s\n", mark, c.Name, c.Summary)
				for _, p := range c.Problems {
					fmt.Fprintf(stdout, "   %s\n", p)
				}
			}
		}
		if !ok {
			return exitFail
		}
		return exitOK
	})
}
