package web_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/web"
)

func TestDocsHandler(t *testing.T) {
	t.Parallel()
	h := web.DocsHandler()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for path, ct := range map[string]string{
			"/docs":                      "text/html; charset=utf-8",
			"/docs/":                     "text/html; charset=utf-8",
			"/docs/index.html":           "text/html; charset=utf-8",
			"/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
			"/docs/policy.js":            "text/javascript; charset=utf-8",
			"/docs/swagger-ui.css":       "text/css; charset=utf-8",
		} {
			res := get(t, h, http.MethodGet, path)
			require.Equal(t, http.StatusOK, res.StatusCode, path)
			require.Equal(t, ct, res.Header.Get("Content-Type"), path)
			require.Equal(t, web.DocsContentSecurityPolicy, res.Header.Get("Content-Security-Policy"), path)
			require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
			require.NotEmpty(t, res.Header.Get("ETag"), path)
			etag := res.Header.Get("ETag")
			require.Equal(t, http.StatusNotModified, get(t, h, http.MethodGet, path, "If-None-Match", etag).StatusCode, path)
		}
		require.Equal(t, http.StatusNotFound, get(t, h, http.MethodGet, "/docs/nope.js").StatusCode)
		require.Equal(t, http.StatusMethodNotAllowed, get(t, h, http.MethodPost, "/docs").StatusCode)
	})

	// The policy differs from the console's only in the Trusted Types
	// policies it names: nothing inline, nothing from elsewhere, no data:.
	t.Run("PolicyIsTheConsolesBarTrustedTypes", func(t *testing.T) {
		t.Parallel()
		strip := regexp.MustCompile(`; trusted-types [^;]*$`)
		require.Equal(t, strip.ReplaceAllString(web.ContentSecurityPolicy, ""), strip.ReplaceAllString(web.DocsContentSecurityPolicy, ""))
		require.Contains(t, web.DocsContentSecurityPolicy, "require-trusted-types-for 'script'")
		require.NotContains(t, web.DocsContentSecurityPolicy, "'allow-duplicates'")
	})

	// The page loads nothing inline and nothing from another origin.
	t.Run("PageSelfContained", func(t *testing.T) {
		t.Parallel()
		body, err := io.ReadAll(get(t, h, http.MethodGet, "/docs").Body)
		require.NoError(t, err)
		page := string(body)
		require.NotRegexp(t, `<script(\s[^>]*)?>\s*[^<\s]`, page, "no inline script")
		require.NotContains(t, page, "<style")
		require.NotContains(t, page, " style=")
		require.NotRegexp(t, `(src|href)="(https?:)?//`, page, "no third-party resource")
		for _, m := range regexp.MustCompile(`(?:src|href)="(/docs/[^"]+)"`).FindAllStringSubmatch(page, -1) {
			require.Equal(t, http.StatusOK, get(t, h, http.MethodGet, m[1]).StatusCode, "%s is embedded", m[1])
		}
		css, err := io.ReadAll(get(t, h, http.MethodGet, "/docs/swagger-ui.css").Body)
		require.NoError(t, err)
		require.NotContains(t, string(css), "data:", "images are files (img-src 'self')")
		for _, m := range regexp.MustCompile(`url\((img/[^)]+)\)`).FindAllStringSubmatch(string(css), -1) {
			require.Equal(t, http.StatusOK, get(t, h, http.MethodGet, "/docs/"+m[1]).StatusCode, "%s is embedded", m[1])
		}
	})

	t.Run("Patterns", func(t *testing.T) {
		t.Parallel()
		ps := web.DocsPatterns()
		require.Contains(t, ps, "GET /docs")
		require.Contains(t, ps, "GET /docs/{$}")
		for _, p := range ps {
			require.True(t, strings.HasPrefix(p, "GET /docs"), p)
		}
		mux := http.NewServeMux()
		for _, p := range ps {
			mux.Handle(p, h) // panics on a conflicting pattern
		}
	})
}
