package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"atrium"
	"atrium/internal/apptest"
	"atrium/internal/httpapi"
	"atrium/internal/testkit"
	"atrium/web"
)

// TestPublicRoutes: every route served beside the API without a token
// (httpapi.PublicRoutes) answers a request that carries none, with its
// security headers; the table here names a sample of each, so a route added
// to the list without a test fails.
func TestPublicRoutes(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, testkit.SQLite(t))
	samples := map[string][]string{
		"GET /.well-known/jwks.json":                                             {"/.well-known/jwks.json"},
		"GET / and its static files (the web console, web.Patterns)":             {"/", "/app.js"},
		"GET /openapi.json and GET /openapi.yaml (the contract, ContractRoutes)": {"/openapi.json", "/openapi.yaml"},
		"GET /docs and its files (the API reference, web.DocsPatterns)":          {"/docs", "/docs/", "/docs/swagger-ui-bundle.js", "/docs/policy.js"},
	}
	require.Len(t, samples, len(httpapi.PublicRoutes), "a sample for every public route")
	fetch := func(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env.Server.URL+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := env.Server.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, body
	}
	for _, route := range httpapi.PublicRoutes {
		paths, ok := samples[route]
		require.True(t, ok, "no sample for public route %q", route)
		for _, p := range paths {
			res, body := fetch(t, p)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s without a token", p)
			require.NotEmpty(t, body, p)
			require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), p)
		}
	}

	t.Run("Contract", func(t *testing.T) {
		res, body := fetch(t, "/openapi.yaml")
		require.Equal(t, "application/yaml; charset=utf-8", res.Header.Get("Content-Type"))
		require.Equal(t, atrium.OpenAPISpec, body, "the contract the binary was built with")
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
		fromYAML := map[string]any{}
		require.NoError(t, yaml.Unmarshal(body, &fromYAML))

		res, body = fetch(t, "/openapi.json")
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		var fromJSON map[string]any
		require.NoError(t, json.Unmarshal(body, &fromJSON))
		require.Equal(t, "3.1.0", fromJSON["openapi"])
		paths := fromJSON["paths"].(map[string]any)
		require.Contains(t, paths, "/me/invitations/accept")
		require.Len(t, paths, len(fromYAML["paths"].(map[string]any)), "every path converted")
		want, err := json.Marshal(fromYAML)
		require.NoError(t, err)
		got, err := json.Marshal(fromJSON)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got), "the JSON is the YAML")

		etag := res.Header.Get("ETag")
		require.NotEmpty(t, etag)
		require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
		res, body = fetch(t, "/openapi.json", "If-None-Match", etag)
		require.Equal(t, http.StatusNotModified, res.StatusCode)
		require.Empty(t, body)
		res, _ = fetch(t, "/openapi.json", "If-None-Match", `"other"`)
		require.Equal(t, http.StatusOK, res.StatusCode)
	})

	t.Run("Docs", func(t *testing.T) {
		res, _ := fetch(t, "/docs")
		require.Equal(t, web.DocsContentSecurityPolicy, res.Header.Get("Content-Security-Policy"))
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
		res, _ = fetch(t, "/docs/nope.js")
		require.Equal(t, http.StatusNotFound, res.StatusCode)
	})

	t.Run("ErrNoWrites", func(t *testing.T) {
		for _, p := range []string{"/openapi.json", "/openapi.yaml", "/docs"} {
			res, err := env.Server.Client().Post(env.Server.URL+p, "application/json", nil)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			// The mux's catch-all answers other methods: 404 problem.
			require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, res.StatusCode, p)
		}
	})
}
