package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
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
