package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/config"
)

const auditFooter = `verify checks the audit trail's hash chains: every event's hash must match
its content and its predecessor, and sequence numbers must run without gaps.
An edited, deleted or reordered event is named. Exit status 1 if any chain is
broken.

prune deletes events older than DURATION (e.g. 8760h for a year) and records
an anchor per chain, so what remains still verifies.

security checks the live deployment (database and configuration): no
password-like columns, passkeys the only login path, asymmetric JWTs with
issuer and audience, signing-key age, tenant isolation and audit logging
probed in rolled-back transactions, every operation protected, HTTPS, the
key-encryption key, migrations. See docs/security.md.

gdpr probes export and erasure (rolled back), data minimisation and audit
completeness. See docs/compliance.md.

Each prints one line per check and exits 1 if any fails.

Configuration comes from ATRIUM_* variables (see 'atrium serve --help').
`

func auditSubcommands() []subcommand {
	return []subcommand{
		{"verify", "[--tenant ID] [--json]", "verify the audit trail's hash chains", runAuditVerify},
		{"prune", "--older-than DURATION", "delete old events, keeping the chains verifiable", runAuditPrune},
		{"security", "[--json]", "check the live deployment's security", runAuditSecurity},
		{"gdpr", "[--json]", "probe export, erasure, minimisation and audit", runAuditGDPR},
	}
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "audit", auditFooter, auditSubcommands(), args, stdout, stderr)
}

func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "verify only this tenant's chain (default: every chain)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitConfig
	}
	chain := ""
	if *tenant != "" {
		if _, err := uuid.Parse(*tenant); err != nil && *tenant != audit.GlobalChain {
			fmt.Fprintf(stderr, "atrium audit verify: --tenant %q is not a tenant id\n", *tenant)
			return exitConfig
		}
		chain = *tenant
	}
	return withDatabase(ctx, stderr, "atrium audit verify", false, func(_ *config.Config, db *app.Database) int {
		reps, err := audit.Verify(ctx, db.Client, chain)
		if err != nil {
			fmt.Fprintf(stderr, "atrium audit verify: %v\n", err)
			return exitFail
		}
		broken := false
		for _, r := range reps {
			broken = broken || len(r.Problems) > 0
		}
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(map[string]any{"ok": !broken, "chains": reps})
		} else {
			for _, r := range reps {
				mark := "✅"
				if len(r.Problems) > 0 {
					mark = "❌"
				}
				fmt.Fprintf(stdout, "%s chain %s: %d events", mark, r.Chain, r.Events)
				if r.Unchained > 0 {
					fmt.Fprintf(stdout, " (%d from before the chain existed)", r.Unchained)
				}
				fmt.Fprintln(stdout)
				for _, p := range r.Problems {
					fmt.Fprintf(stdout, "   %s\n", p)
				}
			}
			if len(reps) == 0 {
				fmt.Fprintln(stdout, "no audit events")
			}
		}
		if broken {
			return exitFail
		}
		return exitOK
	})
}

func runAuditPrune(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium audit prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	older := fs.Duration("older-than", 0, "remove events older than this (e.g. 8760h)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitConfig
	}
	if *older < time.Hour {
		fmt.Fprintln(stderr, "atrium audit prune: --older-than must be at least 1h")
		return exitConfig
	}
	return withDatabase(ctx, stderr, "atrium audit prune", false, func(_ *config.Config, db *app.Database) int {
		reps, err := audit.Prune(ctx, db.Client, time.Now().Add(-*older))
		if err != nil {
			fmt.Fprintf(stderr, "atrium audit prune: %v\n", err)
			return exitFail
		}
		total := 0
		for _, r := range reps {
			total += r.Removed
			fmt.Fprintf(stdout, "chain %s: removed %d events; now anchored after seq %d\n", r.Chain, r.Removed, r.Anchor)
		}
		fmt.Fprintf(stdout, "removed %d events\n", total)
		return exitOK
	})
}
