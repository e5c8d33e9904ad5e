package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeysCommand drives `atrium keys` on an embedded database. It sets
// environment variables, so it cannot run in parallel.
func TestKeysCommand(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	for _, name := range []string{"ATRIUM_DATABASE_URL", "ATRIUM_KEY_ENCRYPTION_KEY", "ATRIUM_REDIS_URL"} {
		t.Setenv(name, "")
	}
	ctx := context.Background()
	keys := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, _, stderr := keys("migrate", "apply")
	require.Equal(t, exitOK, code, stderr)

	code, out, _ := keys("keys", "list")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "no signing keys yet")

	code, out, stderr = keys("keys", "rotate")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, out, "(active: there was no signing key)")
	require.Contains(t, out, "(next: published in the JWKS")
	require.Contains(t, stderr, "generated a key-encryption key")

	code, _, stderr = keys("keys", "rotate")
	require.Equal(t, exitFail, code)
	require.Contains(t, stderr, "--force")

	code, out, stderr = keys("keys", "rotate", "--force", "--alg", "ES256")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, out, "activated")
	require.Contains(t, out, "retired")

	code, out, _ = keys("keys", "list")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "KID")
	require.Equal(t, 1, strings.Count(out, " active "))
	require.Equal(t, 1, strings.Count(out, " retired "))
	require.Equal(t, 1, strings.Count(out, " next "))

	code, out, _ = keys("keys", "list", "--json")
	require.Equal(t, exitOK, code)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 3)
	// Only public facts, in this order; times not yet set are left out.
	for _, r := range rows {
		require.ElementsMatch(t, []string{"kid", "alg", "status", "created", "activated", "verify_until"}[:len(r)], keysOf(r))
	}
	require.Equal(t, "ES256", rows[2]["alg"], "new keys use --alg")
	require.NotContains(t, out, "private")

	t.Setenv("ATRIUM_KEY_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	code, _, stderr = keys("keys", "rotate", "--force")
	require.Equal(t, exitFail, code)
	require.Contains(t, stderr, "wrong key-encryption key")

	t.Setenv("ATRIUM_KEY_ENCRYPTION_KEY", "")
	t.Setenv("ATRIUM_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
	code, _, stderr = keys("keys", "rotate")
	require.Equal(t, exitConfig, code, "no KEK in a data dir for a shared database")
	require.Contains(t, stderr, "ATRIUM_KEY_ENCRYPTION_KEY")
	t.Setenv("ATRIUM_DATABASE_URL", "")

	code, _, _ = keys("keys", "bogus")
	require.Equal(t, exitConfig, code)
	code, _, _ = keys("keys", "rotate", "--alg", "HS256")
	require.Equal(t, exitConfig, code)
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
