package compliance

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"atrium/ent"
	"atrium/ent/signingkey"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

// AsymmetricAlgorithms are the JWT algorithms a signing key may use. A
// symmetric (HS*) key would let anyone who can verify tokens forge them, and
// "none" is no signature at all.
var AsymmetricAlgorithms = []string{token.RS256, token.ES256, token.EdDSA}

func signingKeys(ctx context.Context, env *Env) ([]*ent.SigningKey, error) {
	keys, err := env.Client.SigningKey.Query().
		Order(signingkey.ByCreatedAt(), signingkey.ByKid()).
		All(viewer.System(ctx, viewer.ReasonCompliance))
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	return keys, nil
}

// checkJWTAlgorithm: tokens name an issuer and an audience, and every
// signing key in the database is asymmetric.
func checkJWTAlgorithm(ctx context.Context, env *Env) error {
	var ps problemList
	if strings.TrimSpace(env.Config.Issuer) == "" {
		ps.add("the token issuer is empty (ATRIUM_TOKEN_ISSUER, default ATRIUM_PUBLIC_URL)")
	}
	if strings.TrimSpace(env.Config.Audience) == "" {
		ps.add("the token audience is empty (ATRIUM_TOKEN_AUDIENCE)")
	}
	keys, err := signingKeys(ctx, env)
	if err != nil {
		return errors.Join(append(ps, err)...)
	}
	for _, k := range keys {
		if !slices.Contains(AsymmetricAlgorithms, k.Algorithm) {
			ps.add("signing key %s (%s) uses %q; only %s are allowed", k.Kid, k.Status, k.Algorithm, strings.Join(AsymmetricAlgorithms, ", "))
		}
	}
	return ps.err()
}

// checkSigningKeyAge: the key that signs was activated (or, if it never
// was, created) less than ATRIUM_KEY_ROTATION_PERIOD ago.
func checkSigningKeyAge(ctx context.Context, env *Env) error {
	period := env.Config.KeyRotation
	if period <= 0 {
		return errors.New("ATRIUM_KEY_ROTATION_PERIOD is not set")
	}
	keys, err := signingKeys(ctx, env)
	if err != nil {
		return err
	}
	now := env.Now()
	var ps problemList
	active := 0
	for _, k := range keys {
		if k.Status != signingkey.StatusActive {
			continue
		}
		active++
		since := k.CreatedAt
		if k.ActivatedAt != nil {
			since = *k.ActivatedAt
		}
		if age := now.Sub(since); age > period {
			ps.add("active signing key %s is %s old, older than the rotation period %s: run atrium keys rotate (twice, a few minutes apart, if no next key is published)",
				k.Kid, age.Round(time.Hour), period)
		}
	}
	if active == 0 {
		ps.add("no active signing key: start the server once or run atrium keys rotate")
	}
	return ps.err()
}

// checkHTTPS: a deployment reached over the network uses HTTPS, and passkey
// ceremonies accept no plain-HTTP origin beside an HTTPS public URL.
func checkHTTPS(_ context.Context, env *Env) error {
	u, err := url.Parse(env.Config.PublicURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("ATRIUM_PUBLIC_URL %q is not an absolute URL", env.Config.PublicURL)
	}
	var ps problemList
	switch u.Scheme {
	case "https":
		for _, o := range env.Config.WebAuthnOrigins {
			if ou, err := url.Parse(o); err != nil || ou.Scheme != "https" {
				ps.add("ATRIUM_WEBAUTHN_ORIGINS allows %s beside the HTTPS public URL: passkey ceremonies over plain HTTP can be intercepted", o)
			}
		}
	case "http":
		if !isLoopback(u.Hostname()) {
			ps.add("ATRIUM_PUBLIC_URL %s uses plain HTTP on a non-local host: production must use https (terminate TLS at a proxy and set ATRIUM_PUBLIC_URL=https://…)", env.Config.PublicURL)
		}
	default:
		ps.add("ATRIUM_PUBLIC_URL %q: want an http or https URL", env.Config.PublicURL)
	}
	return ps.err()
}

func isLoopback(host string) bool {
	h := strings.ToLower(host)
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "::1" || strings.HasPrefix(h, "127.")
}

// checkKEK: the key-encryption key that protects the signing keys at rest is
// where it must be — from configuration with PostgreSQL, and not the
// development key file generated into the data dir — and it opens the
// signing keys in the database.
func checkKEK(ctx context.Context, env *Env) error {
	cfg := env.Config
	if err := cfg.CheckKEK(); err != nil {
		return err
	}
	var ps problemList
	devPath := filepath.Join(cfg.DataDir, token.KEKFile)
	dev, devErr := readKEKFile(devPath)
	if devErr != nil && !errors.Is(devErr, fs.ErrNotExist) {
		ps.add("%v", devErr)
	}
	kek := cfg.KeyEncryptionKey
	switch {
	case cfg.IsPostgres() && dev != nil && bytes.Equal(dev, kek):
		ps.add("ATRIUM_KEY_ENCRYPTION_KEY is the development key from %s: with PostgreSQL the key must be generated for the deployment (openssl rand -base64 32) and kept out of the data dir", devPath)
	case len(kek) == 0 && dev != nil:
		kek = dev // the embedded default: the key generated into the data dir
		if info, err := os.Stat(devPath); err == nil && info.Mode().Perm()&0o077 != 0 {
			ps.add("%s is readable by other users (mode %s): chmod 600", devPath, info.Mode().Perm())
		}
	}
	keys, err := signingKeys(ctx, env)
	if err != nil {
		return errors.Join(append(ps, err)...)
	}
	if len(keys) == 0 {
		return ps.err() // nothing sealed yet; the first start creates the keys
	}
	if len(kek) == 0 {
		ps.add("no key-encryption key: neither ATRIUM_KEY_ENCRYPTION_KEY nor %s, so the %d signing keys cannot be decrypted", devPath, len(keys))
		return ps.err()
	}
	opts := token.Options{Issuer: "security-audit", Audience: "security-audit"}
	ring, err := token.NewKeyRing(token.NewEntStore(env.Client), kek, opts)
	if err == nil {
		err = ring.Reload(ctx)
	}
	if err != nil {
		ps.add("the signing keys cannot be loaded with this key-encryption key (wrong or lost KEK?): %v", err)
	}
	return ps.err()
}

// readKEKFile reads the development key file without creating it.
func readKEKFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kek, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != token.KEKSize {
		return nil, fmt.Errorf("%s is not base64 of %d bytes", path, token.KEKSize)
	}
	return kek, nil
}
