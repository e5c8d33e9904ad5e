package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"atrium/ent/role"
	"atrium/ent/serviceaccountkey"
	"atrium/ent/tenant"
	"atrium/internal/app"
	"atrium/internal/fault"
	"atrium/internal/serviceaccount"
	"atrium/internal/viewer"
)

const serviceAccountUsage = `Usage:
  atrium service-account create --tenant SLUG --name NAME [--role ROLE]... [--administration]
  atrium service-account list --tenant SLUG
  atrium service-account add-key --id ID (--public-key FILE | --jwk FILE) [--kid KID] [--expires-in DURATION]
  atrium service-account revoke-key --id ID --kid KID
  atrium service-account disable --id ID [--enable]

Service accounts are non-human identities of a tenant: a backend service
signs a short JWT assertion with its private key and exchanges it at
POST /api/v1/auth/token for an access token (RFC 7523; docs/api.md). Only
public keys are registered here: generate the key pair where the service
runs, e.g.

  openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out sa.key
  openssl ec -in sa.key -pubout -out sa.pub

add-key takes the public key as PEM (--public-key; a file holding a JWK is
recognised too) or as a JSON Web Key (--jwk: kty RSA, EC P-256 or OKP
Ed25519). A JWK with private members (d, p, q, dp, dq, qi) is refused. The
kid the assertions must name is --kid, else the JWK's kid, else the key's
RFC 7638 thumbprint; both are printed.

ROLE is a role name (admin, member, viewer or one of the tenant's) or id.
Administrative permissions (member.manage, role.manage,
service_account.manage, tenant.manage) its roles carry are withheld unless
--administration is given. Every change is audited; the operator is the
system.

Configuration comes from ATRIUM_* variables (see 'atrium serve --help').
`

func runServiceAccount(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, serviceAccountUsage)
		return exitOK
	}
	name := "atrium service-account " + args[0]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("tenant", "", "slug of the tenant")
	saName := fs.String("name", "", "name of the service account")
	var roles multiFlag
	fs.Var(&roles, "role", "a role name or id (repeatable)")
	admin := fs.Bool("administration", false, "grant the administrative permissions its roles carry")
	id := fs.String("id", "", "the service account id")
	keyFile := fs.String("public-key", "", "PEM file of the public key (SubjectPublicKeyInfo; a JWK is recognised too); - for stdin")
	jwkFile := fs.String("jwk", "", "JSON Web Key file of the public key (RFC 7517); - for stdin")
	keyKid := fs.String("kid", "", "add-key: the kid its assertions name (default: the JWK's kid, else the thumbprint); revoke-key: the key to revoke")
	expiresIn := fs.Duration("expires-in", 0, "the key expires after this long (default: never)")
	enable := fs.Bool("enable", false, "re-enable instead of disable")
	if code, ok := parseFlags(fs, args[1:], 0); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return exitConfig
	}
	var saID uuid.UUID
	switch args[0] {
	case "create", "list":
		if *slug == "" {
			return fail("--tenant is required")
		}
		if args[0] == "create" && strings.TrimSpace(*saName) == "" {
			return fail("--name is required")
		}
	case "add-key", "revoke-key", "disable":
		var err error
		if saID, err = uuid.Parse(*id); err != nil {
			return fail("--id: want the service account's id")
		}
		if args[0] == "add-key" && (*keyFile == "") == (*jwkFile == "") {
			return fail("one of --public-key and --jwk is required")
		}
		if args[0] == "revoke-key" && *keyKid == "" {
			return fail("--kid is required")
		}
	default:
		fmt.Fprint(stderr, serviceAccountUsage)
		return exitConfig
	}
	var keyText string
	path, flagName := *keyFile, "--public-key"
	if *jwkFile != "" {
		path, flagName = *jwkFile, "--jwk"
	}
	if path != "" {
		var b []byte
		var err error
		if path == "-" {
			b, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<10))
		} else {
			b, err = os.ReadFile(path)
		}
		if err != nil {
			return fail("%s: %v", flagName, err)
		}
		keyText = string(b)
		if *jwkFile != "" && !serviceaccount.IsJWK(keyText) {
			return fail("--jwk: the file does not hold a JSON object (for PEM, use --public-key)")
		}
	}
	return withApp(ctx, stderr, name, func(a *app.App) int {
		sys := viewer.System(ctx, viewer.ReasonOperator)
		svc := a.ServiceAccounts
		report := func(err error) int {
			fmt.Fprintf(stderr, "%s: %s\n", name, userMessage(err))
			if fault.CodeOf(err) == fault.Invalid {
				if f := fault.As(err); f != nil {
					for _, fe := range f.Fields {
						fmt.Fprintf(stderr, "  %s: %s\n", fe.Field, fe.Message)
					}
				}
			}
			return exitFail
		}
		var tctx context.Context
		if *slug != "" {
			t, err := a.DB.Client.Tenant.Query().Where(tenant.Slug(*slug)).Only(sys)
			if err != nil {
				fmt.Fprintf(stderr, "%s: tenant %q not found\n", name, *slug)
				return exitFail
			}
			tctx = viewer.SystemForTenant(ctx, t.ID, viewer.ReasonOperator)
		} else {
			sa, err := a.DB.Client.ServiceAccount.Get(sys, saID)
			if err != nil {
				fmt.Fprintf(stderr, "%s: service account %s not found\n", name, saID)
				return exitFail
			}
			tctx = viewer.SystemForTenant(ctx, sa.TenantID, viewer.ReasonOperator)
		}
		switch args[0] {
		case "create":
			ids, err := roleIDs(tctx, a, roles)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", name, err)
				return exitFail
			}
			acct, err := svc.Create(tctx, serviceaccount.CreateInput{Name: *saName, RoleIDs: ids, Administration: *admin})
			if err != nil {
				return report(err)
			}
			fmt.Fprintf(stdout, "Service account %q created: id %s (its assertions' iss and sub)\n", acct.Name, acct.ID)
			fmt.Fprintf(stdout, "permissions: %s\n", strings.Join(acct.Permissions, " "))
			fmt.Fprintf(stdout, "token endpoint (the assertions' aud): %s\n", svc.TokenEndpoint())
			fmt.Fprintf(stdout, "next: atrium service-account add-key --id %s --public-key sa.pub\n", acct.ID)
		case "list":
			pg, err := svc.List(tctx, "", 100)
			if err != nil {
				return report(err)
			}
			fmt.Fprintf(stdout, "%-36s  %-24s  %-8s  %s\n", "ID", "NAME", "STATUS", "ACTIVE KEYS")
			now := time.Now()
			for _, s := range pg.Items {
				status, n := "active", 0
				if s.DisabledAt != nil {
					status = "disabled"
				}
				for _, k := range s.Keys {
					if k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(now)) {
						n++
					}
				}
				fmt.Fprintf(stdout, "%-36s  %-24s  %-8s  %d\n", s.ID, s.Name, status, n)
			}
		case "add-key":
			in := serviceaccount.KeyInput{PublicKey: keyText, Kid: *keyKid}
			if *expiresIn > 0 {
				t := time.Now().Add(*expiresIn)
				in.ExpiresAt = &t
			}
			k, err := svc.AddKey(tctx, saID, in)
			if err != nil {
				return report(err)
			}
			fmt.Fprintf(stdout, "Key registered: kid %s (%s). Put this kid in the header of the assertions it signs.\n", k.Kid, k.Alg)
			fmt.Fprintf(stdout, "thumbprint (RFC 7638): %s\n", serviceaccount.KeyThumbprint(k))
		case "revoke-key":
			k, err := a.DB.Client.ServiceAccountKey.Query().Where(serviceaccountkey.ServiceAccountID(saID), serviceaccountkey.Kid(*keyKid)).Only(tctx)
			if err != nil {
				fmt.Fprintf(stderr, "%s: no key %q on service account %s\n", name, *keyKid, saID)
				return exitFail
			}
			if err := svc.RevokeKey(tctx, saID, k.ID); err != nil {
				return report(err)
			}
			fmt.Fprintf(stdout, "Key %s revoked.\n", *keyKid)
		case "disable":
			disabled := !*enable
			if _, err := svc.Update(tctx, saID, serviceaccount.UpdateInput{Disabled: &disabled}); err != nil {
				return report(err)
			}
			if disabled {
				fmt.Fprintf(stdout, "Service account %s disabled: its tokens stop on their next request.\n", saID)
			} else {
				fmt.Fprintf(stdout, "Service account %s enabled.\n", saID)
			}
		}
		return exitOK
	})
}

// roleIDs resolves role names or ids of the tenant in ctx (or system roles).
func roleIDs(ctx context.Context, a *app.App, names []string) ([]uuid.UUID, error) {
	tid := viewer.FromContext(ctx).TenantID
	out := make([]uuid.UUID, 0, len(names))
	for _, n := range names {
		if id, err := uuid.Parse(n); err == nil {
			out = append(out, id)
			continue
		}
		r, err := a.DB.Client.Role.Query().Where(role.Name(n), role.Or(role.TenantIDIsNil(), role.TenantID(tid))).First(ctx)
		if err != nil {
			return nil, fmt.Errorf("role %q not found", n)
		}
		out = append(out, r.ID)
	}
	return out, nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
