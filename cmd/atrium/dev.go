package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"entgo.io/ent/dialect"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/legacy"
)

const devUsage = `Usage: atrium dev <subcommand> [flags]

Development helpers; never run them against a production database.

Subcommands:
  legacy-fixture --users N --conversations M [--messages-per-conversation K]
                 [--documents D] [--agents A] [--teams T] [--knowledge-graphs G]
                 [--admins N] [--seed S] [--batch-size B] [--schema]
                 fill the empty tables of a legacy (pre-Atrium) PostgreSQL database
                 with realistic, deterministic data (same flags, same rows);
                 --schema first creates the legacy schema on an empty database.
                 Adopt the result with: atrium migrate apply --baseline ` + legacy.BaselineVersion + `
`

// runDev implements `atrium dev`.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, devUsage)
		return exitOK
	}
	sub, args := args[0], args[1:]
	if sub != "legacy-fixture" {
		fmt.Fprintf(stderr, "atrium dev: unknown subcommand %q\n\n%s", sub, devUsage)
		return exitConfig
	}
	fs := flag.NewFlagSet("atrium dev "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of atrium dev %s:\n", sub)
		fs.PrintDefaults()
	}
	var o legacy.FixtureOptions
	fs.IntVar(&o.Users, "users", 0, "legacy users (old_users); emails user000001@legacy.example, …")
	fs.IntVar(&o.Admins, "admins", 0, "users with is_admin, spread evenly (default max(1, users/50))")
	fs.IntVar(&o.Conversations, "conversations", 0, "conversations, spread over the users")
	fs.IntVar(&o.MessagesPerConversation, "messages-per-conversation", 4, "messages per conversation, alternating user and assistant")
	fs.IntVar(&o.Documents, "documents", 0, "documents (Markdown and plain text)")
	fs.IntVar(&o.Agents, "agents", 0, "agents")
	fs.IntVar(&o.Teams, "teams", 0, "teams (distinct names)")
	fs.IntVar(&o.KnowledgeGraphs, "knowledge-graphs", 0, "knowledge graphs")
	fs.Int64Var(&o.Seed, "seed", 1, "seed: the same flags and seed give identical rows")
	fs.IntVar(&o.BatchSize, "batch-size", 100_000, "rows per INSERT statement")
	schema := fs.Bool("schema", false, "first create the legacy schema (baseline "+legacy.BaselineVersion+", no revision table) on the empty database")
	if code, ok := parseFlags(fs, args, 0); !ok {
		return code
	}
	// An explicit 0 means none; the options' 0 means the default.
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "admins" && o.Admins == 0:
			o.Admins = -1
		case f.Name == "messages-per-conversation" && o.MessagesPerConversation == 0:
			o.MessagesPerConversation = -1
		}
	})
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "atrium dev %s: invalid flags:\n%v\n", sub, err)
		return exitConfig
	}
	return withDatabase(ctx, stderr, "atrium dev", false, func(_ *config.Config, db *app.Database) int {
		if db.Dialect != dialect.Postgres {
			fmt.Fprintf(stderr, "atrium dev %s: the legacy workspace ran on PostgreSQL only; set ATRIUM_DATABASE_URL to a postgres:// URL (the configured database is %s)\n", sub, db.Dialect)
			return exitConfig
		}
		if *schema {
			start := time.Now()
			if err := legacy.CreateSchema(ctx, db.DB); err != nil {
				fmt.Fprintf(stderr, "atrium dev %s: %v\n", sub, err)
				return exitFail
			}
			fmt.Fprintf(stdout, "created the legacy schema (baseline %s, no revision table) in %s\n", legacy.BaselineVersion, time.Since(start).Round(time.Millisecond))
		}
		rep, err := legacy.Fill(ctx, db.DB, o)
		if err != nil {
			fmt.Fprintf(stderr, "atrium dev %s: %v\n", sub, err)
			return exitFail
		}
		for _, t := range rep.Tables {
			fmt.Fprintf(stdout, "  %-17s %10d rows  %10s\n", t.Table, t.Rows, t.Duration.Round(time.Millisecond))
		}
		fmt.Fprintf(stdout, "filled %d rows (seed %d) in %s, VACUUM (ANALYZE) included (%s)\n", rep.Rows(), o.Seed, rep.Duration.Round(time.Millisecond), rep.Vacuum.Round(time.Millisecond))
		fmt.Fprintf(stdout, "adopt it with: atrium migrate apply --baseline %s\n", legacy.BaselineVersion)
		return exitOK
	})
}
