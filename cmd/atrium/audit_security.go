package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"atrium"
	"atrium/internal/app"
	"atrium/internal/compliance"
	"atrium/internal/config"
	"atrium/internal/httpapi"
)

const auditSecurityUsage = `Usage: atrium audit security [--json]

Checks a live deployment - its database and its configuration - against
Atrium's security guarantees, and prints one line per check:

  no password-like column in the database schema
  passkeys are the only way to sign in (from the built-in API contract)
  tokens are signed asymmetrically (RS256, ES256 or EdDSA), with issuer and audience
  the active signing key is younger than ATRIUM_KEY_ROTATION_PERIOD
  the data layer isolates tenants (a live probe in a rolled-back transaction)
  PostgreSQL row-level security is on, with a policy, for every table with a
    tenant_id, and the server's role (atrium_app) cannot skip it
  changes are audited, and every audit hash chain verifies
  every API operation is public-listed or needs one known permission
  the public URL and passkey origins use HTTPS (plain HTTP only on localhost)
  the key-encryption key is configured and opens the signing keys
  database migrations are up to date

The probes write only inside transactions that are rolled back. Exit status
1 if any check fails. Configuration comes from ATRIUM_* variables (see
'atrium serve --help').

Flags:
`

// runAuditSecurity implements 'atrium audit security'.
func runAuditSecurity(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium audit security", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), auditSecurityUsage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "atrium audit security: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	return withDatabase(ctx, stderr, "atrium audit security", false, func(cfg *config.Config, db *app.Database) int {
		env := compliance.NewEnv(cfg, db.Client, db.DB, db.Dialect, atrium.OpenAPISpec, publicOperationIDs())
		rep := compliance.RunChecks(ctx, env, compliance.SecurityChecks())
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			writeSecurityReport(stdout, rep)
		}
		if !rep.OK {
			return exitFail
		}
		return exitOK
	})
}

func writeSecurityReport(w io.Writer, rep compliance.Report) {
	failed := 0
	for _, r := range rep.Results {
		mark := "✅"
		if !r.OK {
			mark = "❌"
			failed++
		}
		fmt.Fprintf(w, "%s %s\n", mark, r.Name)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "   %s\n", p)
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "\nall %d checks passed\n", len(rep.Results))
	} else {
		fmt.Fprintf(w, "\n%d of %d checks failed\n", failed, len(rep.Results))
	}
}

// publicOperationIDs returns the server's public operations as the spec
// names them (getHealth, not GetHealth).
func publicOperationIDs() []string {
	ids := make([]string, 0, len(httpapi.PublicOperations))
	for _, op := range httpapi.PublicOperations {
		s := string(op)
		if s != "" {
			s = strings.ToLower(s[:1]) + s[1:]
		}
		ids = append(ids, s)
	}
	return ids
}
