package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/web"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h := web.Handler()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for path, ct := range map[string]string{
			"/":            "text/html; charset=utf-8",
			"/index.html":  "text/html; charset=utf-8",
			"/app.js":      "text/javascript; charset=utf-8",
			"/app.css":     "text/css; charset=utf-8",
			"/favicon.svg": "image/svg+xml",
		} {
			res := get(t, h, http.MethodGet, path)
			require.Equal(t, http.StatusOK, res.StatusCode, path)
			require.Equal(t, ct, res.Header.Get("Content-Type"), path)
			require.Equal(t, "no-cache", res.Header.Get("Cache-Control"), path)
			require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
			csp := res.Header.Get("Content-Security-Policy")
			require.Contains(t, csp, "default-src 'self'", path)
			require.Contains(t, csp, "script-src 'self';", path)
			require.NotContains(t, csp, "unsafe-inline", path)
			require.NotContains(t, csp, "unsafe-eval", path)
			require.Contains(t, csp, "frame-ancestors 'none'", path)
			require.NotEmpty(t, res.Header.Get("ETag"), path)
		}
	})

	t.Run("IndexIsTheRoot", func(t *testing.T) {
		t.Parallel()
		a := get(t, h, http.MethodGet, "/")
		b := get(t, h, http.MethodGet, "/index.html")
		require.Equal(t, a.Header.Get("ETag"), b.Header.Get("ETag"))
	})

	t.Run("NotModified", func(t *testing.T) {
		t.Parallel()
		etag := get(t, h, http.MethodGet, "/app.js").Header.Get("ETag")
		res := get(t, h, http.MethodGet, "/app.js", "If-None-Match", etag)
		require.Equal(t, http.StatusNotModified, res.StatusCode)
	})

	t.Run("Head", func(t *testing.T) {
		t.Parallel()
		res := get(t, h, http.MethodHead, "/app.css")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.NotEmpty(t, res.Header.Get("Content-Length"))
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		res := get(t, h, http.MethodGet, "/nope.js")
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		require.NotEmpty(t, res.Header.Get("Content-Security-Policy"))
	})

	t.Run("ErrMethod", func(t *testing.T) {
		t.Parallel()
		res := get(t, h, http.MethodPost, "/")
		require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	})
}

// TestPatterns mounts the patterns on a mux the way the server does, beside a
// catch-all, and checks that they route to the console and nothing else.
func TestPatterns(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	for _, p := range web.Patterns() {
		mux.Handle(p, web.Handler())
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	require.Contains(t, web.Patterns(), "GET /{$}")
	for _, path := range []string{"/", "/index.html", "/app.js", "/app.css"} {
		require.Equal(t, http.StatusOK, get(t, mux, http.MethodGet, path).StatusCode, path)
	}
	require.Equal(t, http.StatusTeapot, get(t, mux, http.MethodGet, "/api/v1/nope").StatusCode)
	require.Equal(t, http.StatusTeapot, get(t, mux, http.MethodGet, "/other").StatusCode)
}

// TestNoInlineCode guards the CSP: the page has no inline script, style
// attribute or event handler, and loads nothing from another origin.
func TestNoInlineCode(t *testing.T) {
	t.Parallel()
	res := get(t, web.Handler(), http.MethodGet, "/")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	html := string(body)
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		require.Contains(t, m, `src="/`, "inline script: %s", m)
	}
	require.NotRegexp(t, `\son[a-z]+=`, html, "inline event handler")
	require.NotRegexp(t, `\sstyle=`, html, "inline style attribute")
	require.NotContains(t, html, "<style")
	require.NotRegexp(t, `(src|href)="(https?:)?//`, html, "another origin")

	js := get(t, web.Handler(), http.MethodGet, "/app.js")
	body, err = io.ReadAll(js.Body)
	require.NoError(t, err)
	require.NotRegexp(t, `\.innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(`, string(body),
		"DOM sinks break under Trusted Types")
}
