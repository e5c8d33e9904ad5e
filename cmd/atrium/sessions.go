package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/predicate"
	entsession "atrium/ent/session"
	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/session"
	"atrium/internal/viewer"
)

const sessionsUsage = `Usage: atrium sessions revoke --all [--tenant ID] [--reason REASON]

Revokes every active session - of every tenant, or of one tenant with
--tenant - in one transaction with one audit event (auth.session.revoked_all,
in the tenant's chain or the global one). The revocation is published on the
cache bus, so every running instance drops the sessions from its cache: each
access token stops working on its next request, and no refresh token of a
revoked session refreshes again. Everyone signs in again with their passkey.

Use it after a signing key or KEK leak (docs/incident-response.md).

Configuration comes from ATRIUM_* variables (see 'atrium serve --help'); with
several instances, ATRIUM_REDIS_URL must be the one they share.
`

// revokedAllAction is the audit action of `atrium sessions revoke --all`.
const revokedAllAction = "auth.session.revoked_all"

func runSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "revoke" {
		fmt.Fprint(stdout, sessionsUsage)
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			return exitOK
		}
		return exitConfig
	}
	fs := flag.NewFlagSet("atrium sessions revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "revoke every active session (required: the only selection so far)")
	tenantArg := fs.String("tenant", "", "only the sessions of the tenant with this `ID` (UUID)")
	reason := fs.String("reason", "operator_revoke_all", "revoked_reason stored on each session (at most 64 characters)")
	if code, ok := parseKeysFlags(fs, args[1:]); !ok {
		return code
	}
	if !*all {
		fmt.Fprintln(stderr, "atrium sessions revoke: --all is required")
		return exitConfig
	}
	if *reason == "" || len(*reason) > 64 {
		fmt.Fprintln(stderr, "atrium sessions revoke: --reason must be 1-64 characters")
		return exitConfig
	}
	var tenantID uuid.UUID
	if *tenantArg != "" {
		id, err := uuid.Parse(*tenantArg)
		if err != nil {
			fmt.Fprintf(stderr, "atrium sessions revoke: --tenant %q is not a tenant ID (UUID)\n", *tenantArg)
			return exitConfig
		}
		tenantID = id
	}
	return withApp(ctx, stderr, "atrium sessions revoke", func(a *app.App) int {
		n, err := revokeAllSessions(ctx, a.DB.Client, a.Sessions, a.Audit, tenantID, *reason)
		if err != nil {
			fmt.Fprintln(stderr, "atrium sessions revoke:", userMessage(err))
			return exitFail
		}
		scope := "every tenant"
		if tenantID != uuid.Nil {
			scope = "tenant " + tenantID.String()
		}
		fmt.Fprintf(stdout, "revoked %d session(s) of %s\n", n, scope)
		return exitOK
	})
}

// revokeAllSessions revokes every active session (of tenantID unless Nil)
// and records one audit event in the same transaction. The store publishes
// each revoked id on the bus after the commit.
func revokeAllSessions(ctx context.Context, client *ent.Client, store *session.Store, w *audit.Writer, tenantID uuid.UUID, reason string) (int, error) {
	var ps []predicate.Session
	if tenantID != uuid.Nil {
		sys := viewer.SystemForTenant(ctx, tenantID, viewer.ReasonSessionRevoke)
		if _, err := client.Tenant.Get(sys, tenantID); err != nil {
			if ent.IsNotFound(err) {
				return 0, fault.New(fault.NotFound, "no tenant %s", tenantID)
			}
			return 0, fault.FromEnt(err, "tenant")
		}
		ps = append(ps, entsession.TenantID(tenantID))
	}
	var n int
	err := w.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		ids, err := store.RevokeWhere(ctx, tx, reason, ps...)
		n = len(ids)
		scope := "all"
		if tenantID != uuid.Nil {
			scope = "tenant"
		}
		return audit.Event{
			Action:       revokedAllAction,
			ResourceType: "session",
			TenantID:     tenantID,
			Details:      map[string]string{"scope": scope, "count": strconv.Itoa(n), "reason": reason},
		}, err
	})
	return n, err
}
