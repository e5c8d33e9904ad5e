package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServiceAccountCLI: an operator creates a service account, registers a
// public key, lists, revokes the key and disables the account.
func TestServiceAccountCLI(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	t.Setenv("ATRIUM_DATABASE_URL", "")
	t.Setenv("ATRIUM_LOG_LEVEL", "error")
	ctx := context.Background()
	sa := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, append([]string{"service-account"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run(ctx, []string{"tenant", "create", "--init", "--name", "Svc Corp"}, &out, &errb), errb.String())

	code, stdout, stderr := sa("create", "--tenant", "svc-corp", "--name", "billing", "--role", "member")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "conversation.create")
	require.Contains(t, stdout, "/api/v1/auth/token")
	id := regexp.MustCompile(`id ([0-9a-f-]{36})`).FindStringSubmatch(stdout)[1]

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pub := filepath.Join(t.TempDir(), "sa.pub")
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	code, stdout, stderr = sa("add-key", "--id", id, "--public-key", pub)
	require.Equal(t, exitOK, code, stderr)
	kid := regexp.MustCompile(`kid (\S+) \(ES256\)`).FindStringSubmatch(stdout)[1]

	code, stdout, _ = sa("list", "--tenant", "svc-corp")
	require.Equal(t, exitOK, code)
	require.Regexp(t, id+`\s+billing\s+active\s+1`, stdout)

	code, _, stderr = sa("revoke-key", "--id", id, "--kid", kid)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = sa("disable", "--id", id)
	require.Equal(t, exitOK, code, stderr)
	_, stdout, _ = sa("list", "--tenant", "svc-corp")
	require.Regexp(t, id+`\s+billing\s+disabled\s+0`, stdout)

	t.Run("JWK", func(t *testing.T) {
		pubKey, privKey, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		enc := base64.RawURLEncoding.EncodeToString
		dir := t.TempDir()
		jwk := filepath.Join(dir, "sa.jwk")
		require.NoError(t, os.WriteFile(jwk, []byte(`{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x":"`+enc(pubKey)+`"}`), 0o600))
		code, stdout, stderr := sa("add-key", "--id", id, "--jwk", jwk)
		require.Equal(t, exitOK, code, stderr)
		kid := regexp.MustCompile(`kid (\S+) \(EdDSA\)`).FindStringSubmatch(stdout)[1]
		require.Contains(t, stdout, "thumbprint (RFC 7638): "+kid, "the default kid is the thumbprint")
		// The same key as PEM under a kid of the operator's choosing, on another account.
		code, stdout, stderr = sa("create", "--tenant", "svc-corp", "--name", "billing-2")
		require.Equal(t, exitOK, code, stderr)
		id2 := regexp.MustCompile(`id ([0-9a-f-]{36})`).FindStringSubmatch(stdout)[1]
		der, err := x509.MarshalPKIXPublicKey(pubKey)
		require.NoError(t, err)
		pemFile := filepath.Join(dir, "sa.pub")
		require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
		code, stdout, stderr = sa("add-key", "--id", id2, "--public-key", pemFile, "--kid", "ops-1")
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, stdout, "kid ops-1 (EdDSA)")
		require.Contains(t, stdout, "thumbprint (RFC 7638): "+kid, "one key, one thumbprint")

		private := filepath.Join(dir, "private.jwk")
		require.NoError(t, os.WriteFile(private, []byte(`{"kty":"OKP","crv":"Ed25519","x":"`+enc(pubKey)+`","d":"`+enc(privKey.Seed())+`"}`), 0o600))
		code, _, stderr = sa("add-key", "--id", id2, "--jwk", private)
		require.Equal(t, exitFail, code, "a private JWK is refused")
		require.Contains(t, stderr, "private key")
		code, _, stderr = sa("add-key", "--id", id2, "--jwk", pemFile)
		require.Equal(t, exitConfig, code)
		require.Contains(t, stderr, "--jwk")
		code, _, _ = sa("add-key", "--id", id2, "--jwk", jwk, "--public-key", pemFile)
		require.Equal(t, exitConfig, code, "one key at a time")
	})
	t.Run("ErrUsage", func(t *testing.T) {
		code, _, stderr := sa("create", "--name", "x")
		require.Equal(t, exitConfig, code)
		require.Contains(t, stderr, "--tenant is required")
		code, _, _ = sa("add-key", "--id", "nope", "--public-key", pub)
		require.Equal(t, exitConfig, code)
		code, _, stderr = sa("create", "--tenant", "svc-corp", "--name", "x", "--role", "no-such-role")
		require.Equal(t, exitFail, code)
		require.Contains(t, stderr, "not found")
		priv := filepath.Join(t.TempDir(), "sa.key")
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600))
		code, _, stderr = sa("add-key", "--id", id, "--public-key", priv)
		require.Equal(t, exitFail, code, "a private key is refused")
		require.Contains(t, stderr, "public_key")
	})
}
