package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, arg := range []string{"version", "--version"} {
			var out, errb bytes.Buffer
			require.Equal(t, exitOK, run(context.Background(), []string{arg}, &out, &errb), errb.String())
			require.Contains(t, out.String(), "atrium ")
			require.Contains(t, out.String(), runtime.Version())
		}
	})
	t.Run("OKJSON", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, run(context.Background(), []string{"version", "--json"}, &out, &errb), errb.String())
		var b buildInfo
		require.NoError(t, json.Unmarshal(out.Bytes(), &b))
		require.Equal(t, runtime.Version(), b.GoVersion)
	})
	t.Run("OKBuildInfo", func(t *testing.T) {
		b := mergeBuildInfo(buildInfo{Version: "dev"}, &debug.BuildInfo{
			GoVersion: "go1.99",
			Main:      debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc123"},
				{Key: "vcs.time", Value: "2026-12-03T10:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			},
		})
		require.Equal(t, buildInfo{Version: "dev", Commit: "abc123", BuildDate: "2026-12-03T10:00:00Z", Modified: true, GoVersion: "go1.99"}, b)
		require.Contains(t, b.String(), "abc123 (modified)")
	})
	t.Run("ErrExtraArgument", func(t *testing.T) {
		var out, errb bytes.Buffer
		require.Equal(t, exitConfig, run(context.Background(), []string{"version", "x"}, &out, &errb))
	})
}

// TestStaticBinary builds the binary exactly as the Dockerfile does
// (CGO_ENABLED=0, -trimpath, -X overrides) and runs `atrium version` and
// `atrium --version` with it: the image's build works and stamps it.
func TestStaticBinary(t *testing.T) {
	// A -trimpath build misses the build cache and recompiles everything:
	// minutes on a small machine. .ci/run sets ATRIUM_TEST_STATIC_BUILD=1.
	if os.Getenv("ATRIUM_TEST_STATIC_BUILD") == "" {
		t.Skip("set ATRIUM_TEST_STATIC_BUILD=1 to build the static binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "atrium")
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version=9.9.9-test -X main.commit=deadbeef -X main.buildDate=2026-12-03T00:00:00Z",
		"-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		require.NoError(t, err, string(out))
		require.Contains(t, string(out), "atrium 9.9.9-test")
		require.Contains(t, string(out), "commit: deadbeef")
		require.Contains(t, string(out), "built:  2026-12-03T00:00:00Z")
	}
	// No cgo: the binary runs on distroless/static or scratch.
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "CGO_ENABLED=0")
	require.Contains(t, string(out), "-trimpath=true")
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/ready" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/api/v1/ready"
	}
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		var out, errb bytes.Buffer
		require.Equal(t, exitOK, run(context.Background(), []string{"healthcheck", "--url", setup(t, 200)}, &out, &errb), errb.String())
	})
	t.Run("ErrNotReady", func(t *testing.T) {
		t.Parallel()
		var out, errb bytes.Buffer
		require.Equal(t, exitFail, run(context.Background(), []string{"healthcheck", "--url", setup(t, 503)}, &out, &errb))
		require.Contains(t, errb.String(), "503")
	})
	t.Run("ErrDown", func(t *testing.T) {
		t.Parallel()
		url := setup(t, 200)
		url = strings.Replace(url, "/api/v1/ready", "/nope", 1)
		var out, errb bytes.Buffer
		require.Equal(t, exitFail, run(context.Background(), []string{"healthcheck", "--url", url}, &out, &errb))
	})
	t.Run("ErrBadFlagIsNot2", func(t *testing.T) { // Docker reserves exit 2
		t.Parallel()
		var out, errb bytes.Buffer
		require.Equal(t, exitFail, run(context.Background(), []string{"healthcheck", "--bogus"}, &out, &errb))
	})
	t.Run("OKReadyURL", func(t *testing.T) {
		t.Parallel()
		for addr, want := range map[string]string{
			"":              "http://127.0.0.1:8080/api/v1/ready",
			":9000":         "http://127.0.0.1:9000/api/v1/ready",
			"0.0.0.0:8080":  "http://127.0.0.1:8080/api/v1/ready",
			"[::]:8080":     "http://[::1]:8080/api/v1/ready",
			"10.0.0.5:8080": "http://10.0.0.5:8080/api/v1/ready",
		} {
			require.Equal(t, want, readyURL(addr), addr)
		}
	})
}
