package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ContractRoutes serves the HTTP contract the binary was built with
// (openapi.yaml, embedded as atrium.OpenAPISpec): as written at
// GET /openapi.yaml, and converted to JSON once, at start, at
// GET /openapi.json. Both are public (see PublicRoutes), cached by clients
// with an ETag (Cache-Control: no-cache revalidates each load), and served
// with a policy that lets them be nothing but data.
func ContractRoutes(spec []byte) (map[string]http.Handler, error) {
	var doc any
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml to JSON: %w", err)
	}
	return map[string]http.Handler{
		"GET /openapi.yaml": contractHandler(spec, "application/yaml; charset=utf-8"),
		"GET /openapi.json": contractHandler(js.Bytes(), "application/json"),
	}, nil
}

func contractHandler(body []byte, contentType string) http.Handler {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatch(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})
}

func etagListMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
