package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/token"
)

const keysUsage = `Usage: atrium keys <subcommand> [flags]

Subcommands:
  list [--json]                  list signing keys (public facts only, never key material)
  rotate [--force] [--alg ALG]   advance key rotation by one step

Rotation is two-phase so that every key is published in the JWKS before it
signs. The first 'rotate' creates a next key (published, not signing). A later
'rotate' - at least the JWKS cache age plus the reload interval after the
first (about 6 minutes) - promotes it to active, retires the old active key
(it keeps verifying until every token it signed has expired) and creates the
next key for the following rotation. Running it once per
ATRIUM_KEY_ROTATION_PERIOD keeps a published next key ready at all times.
Running servers pick up the change within a minute.

Configuration comes from ATRIUM_* variables (see 'atrium serve --help').
`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, keysUsage)
		return exitOK
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("atrium keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch sub {
	case "list":
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		if code, ok := parseKeysFlags(fs, args); !ok {
			return code
		}
		return withKeyStore(ctx, stderr, false, func(cfg *config.Config, db *app.Database) int {
			return keysList(ctx, cfg, token.NewEntStore(db.Client), *asJSON, stdout, stderr)
		})
	case "rotate":
		force := fs.Bool("force", false, "promote the next key even if it was published only moments ago (tokens may briefly fail on clients with a cached JWKS)")
		alg := fs.String("alg", token.RS256, "algorithm of newly created keys: RS256, ES256 or EdDSA")
		if code, ok := parseKeysFlags(fs, args); !ok {
			return code
		}
		return withKeyStore(ctx, stderr, true, func(cfg *config.Config, db *app.Database) int {
			return keysRotate(ctx, cfg, db, *alg, *force, stdout, stderr)
		})
	}
	fmt.Fprintf(stderr, "atrium keys: unknown subcommand %q\n\n", sub)
	fmt.Fprint(stderr, keysUsage)
	return exitConfig
}

func parseKeysFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitConfig, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitConfig, false
	}
	return exitOK, true
}

// withKeyStore loads the configuration, opens the database and runs f.
// needKEK: with PostgreSQL the KEK must come from configuration, for a key
// generated into this machine's data dir would be unknown to every other
// instance. (list needs no KEK: it never decrypts.)
func withKeyStore(ctx context.Context, stderr io.Writer, needKEK bool, f func(*config.Config, *app.Database) int) int {
	return withDatabase(ctx, stderr, "atrium keys", needKEK, f)
}

// keyRow is what `keys list` shows of a key: public facts only.
type keyRow struct {
	Kid         string     `json:"kid"`
	Algorithm   string     `json:"alg"`
	Status      string     `json:"status"`
	Created     time.Time  `json:"created"`
	Activated   *time.Time `json:"activated,omitempty"`
	VerifyUntil *time.Time `json:"verify_until,omitempty"`
}

func keysList(ctx context.Context, cfg *config.Config, store token.KeyStore, asJSON bool, stdout, stderr io.Writer) int {
	keys, err := store.List(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "atrium keys list:", err)
		return exitFail
	}
	now := time.Now()
	rows := make([]keyRow, 0, len(keys))
	var active *token.StoredKey
	for i, k := range keys {
		r := keyRow{Kid: k.Kid, Algorithm: k.Algorithm, Status: string(k.Status), Created: k.CreatedAt.UTC()}
		if !k.ActivatedAt.IsZero() {
			t := k.ActivatedAt.UTC()
			r.Activated = &t
		}
		if !k.VerifyUntil.IsZero() {
			t := k.VerifyUntil.UTC()
			r.VerifyUntil = &t
		}
		if k.Status == token.StatusRetired && !now.Before(k.VerifyUntil) {
			r.Status = "expired" // retired and past verify_until: neither published nor accepted
		}
		if k.Status == token.StatusActive && (active == nil || k.ActivatedAt.Before(active.ActivatedAt)) {
			active = &keys[i]
		}
		rows = append(rows, r)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintln(stderr, "atrium keys list:", err)
			return exitFail
		}
		return exitOK
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no signing keys yet: 'atrium serve' creates the first on start, or run 'atrium keys rotate'")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tACTIVATED\tVERIFY_UNTIL")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Kid, r.Algorithm, r.Status, stamp(&r.Created), stamp(r.Activated), stamp(r.VerifyUntil))
	}
	if err := tw.Flush(); err != nil {
		return exitFail
	}
	if active != nil {
		age := now.Sub(active.ActivatedAt)
		if age >= cfg.KeyRotation {
			fmt.Fprintf(stdout, "\nrotation due: the active key signs for %s (ATRIUM_KEY_ROTATION_PERIOD=%s); run 'atrium keys rotate'\n", age.Round(time.Hour), cfg.KeyRotation)
		}
	}
	return exitOK
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func keysRotate(ctx context.Context, cfg *config.Config, db *app.Database, alg string, force bool, stdout, stderr io.Writer) int {
	kek, created, err := token.ResolveKEK(cfg.KeyEncryptionKey, cfg.DataDir)
	if err != nil {
		fmt.Fprintln(stderr, "atrium keys rotate:", err)
		return exitConfig
	}
	if created {
		fmt.Fprintf(stderr, "atrium keys rotate: generated a key-encryption key in %s; back it up, or set ATRIUM_KEY_ENCRYPTION_KEY\n", cfg.DataDir)
	}
	opts := token.Options{Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL, Algorithm: alg}
	if force {
		opts.PublishDelay = -1
	}
	ring, err := token.NewKeyRing(token.NewEntStore(db.Client), kek, opts)
	if err != nil {
		fmt.Fprintln(stderr, "atrium keys rotate:", err)
		return exitConfig
	}
	res, err := ring.Rotate(ctx)
	switch {
	case errors.Is(err, token.ErrRotateTooSoon):
		fmt.Fprintf(stderr, "atrium keys rotate: %v\nWait, or pass --force.\n", err)
		return exitFail
	case errors.Is(err, token.ErrConflict):
		fmt.Fprintln(stderr, "atrium keys rotate: another rotation ran at the same moment; run 'atrium keys list' and try again if needed")
		return exitFail
	case err != nil:
		fmt.Fprintln(stderr, "atrium keys rotate:", err)
		return exitFail
	}
	if res.Initial != "" {
		fmt.Fprintf(stdout, "created   %s (active: there was no signing key)\n", res.Initial)
	}
	if res.Activated != "" {
		fmt.Fprintf(stdout, "activated %s (now signing)\n", res.Activated)
		for _, kid := range res.Retired {
			fmt.Fprintf(stdout, "retired   %s (verifies until %s)\n", kid, res.VerifyUntil.UTC().Format(time.RFC3339))
		}
	}
	if res.Created != "" {
		fmt.Fprintf(stdout, "created   %s (next: published in the JWKS, signs from the next rotation)\n", res.Created)
	}
	return exitOK
}
