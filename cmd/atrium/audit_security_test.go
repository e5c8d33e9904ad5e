package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuditSecurity drives runAuditSecurity on an embedded deployment: a
// migrated database with signing keys and the generated key-encryption key
// passes; a plain-HTTP public URL on a real host fails. It sets environment
// variables, so it cannot run in parallel.
func TestAuditSecurity(t *testing.T) {
	t.Setenv("ATRIUM_DATA_DIR", t.TempDir())
	for _, name := range []string{"ATRIUM_DATABASE_URL", "ATRIUM_KEY_ENCRYPTION_KEY", "ATRIUM_REDIS_URL", "ATRIUM_PUBLIC_URL", "ATRIUM_WEBAUTHN_ORIGINS"} {
		t.Setenv(name, "")
	}
	ctx := context.Background()
	cmd := func(f func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := f(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	viaRun, security := run, runAuditSecurity

	code, _, stderr := cmd(viaRun, "migrate", "apply")
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = cmd(viaRun, "keys", "rotate")
	require.Equal(t, exitOK, code, stderr)

	t.Run("OK", func(t *testing.T) {
		code, out, stderr := cmd(security)
		require.Equal(t, exitOK, code, out+stderr)
		require.Equal(t, 12, strings.Count(out, "✅"), out)
		require.NotContains(t, out, "❌")
		require.Contains(t, out, "all 12 checks passed")
	})
	t.Run("OKJSON", func(t *testing.T) {
		code, out, stderr := cmd(security, "--json")
		require.Equal(t, exitOK, code, stderr)
		var rep struct {
			OK     bool `json:"ok"`
			Checks []struct {
				ID string `json:"id"`
				OK bool   `json:"ok"`
			} `json:"checks"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.True(t, rep.OK)
		require.Len(t, rep.Checks, 12)
	})
	t.Run("ErrPlainHTTP", func(t *testing.T) {
		t.Setenv("ATRIUM_PUBLIC_URL", "http://atrium.example.com")
		code, out, _ := cmd(security)
		require.Equal(t, exitFail, code)
		require.Contains(t, out, "❌ the public URL and passkey origins use HTTPS")
		require.Contains(t, out, "production must use https")
		require.Contains(t, out, "1 of 12 checks failed")

		code, out, _ = cmd(security, "--json")
		require.Equal(t, exitFail, code)
		require.Contains(t, out, `"ok": false`)
	})
	t.Run("ErrBadFlag", func(t *testing.T) {
		code, _, _ := cmd(security, "--yaml")
		require.Equal(t, exitConfig, code)
		code, _, stderr := cmd(security, "extra")
		require.Equal(t, exitConfig, code)
		require.Contains(t, stderr, "unexpected argument")
	})
	t.Run("Help", func(t *testing.T) {
		code, _, stderr := cmd(security, "--help")
		require.Equal(t, exitOK, code)
		require.Contains(t, stderr, "Usage: atrium audit security")
	})
	t.Run("ErrBadConfig", func(t *testing.T) {
		t.Setenv("ATRIUM_LOG_LEVEL", "loud")
		code, _, stderr := cmd(security)
		require.Equal(t, exitConfig, code)
		require.Contains(t, stderr, "ATRIUM_LOG_LEVEL")
	})
}
