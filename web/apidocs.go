package web

import (
	"embed"
	"net/http"
	"sort"
	"strconv"
)

// The API reference at /docs: swagger-ui-dist with DOMPurify, built from
// web/apidocs (package-lock.json, build.mjs) into web/apidocs/dist, which is
// committed and embedded so that the binary needs nothing else.
//
//go:embed apidocs/dist
var apidocs embed.FS

// DocsContentSecurityPolicy is the console's policy (ContentSecurityPolicy)
// with one difference: Trusted Types allow three named policies instead of
// none. The renderer writes rendered Markdown with innerHTML; the "default"
// policy (apidocs/src/policy.js) passes every such string through DOMPurify,
// whose two copies need their own policy for parsing ("dompurify#atrium",
// "dompurify#swagger-ui"). Script sinks stay closed (no policy creates
// scripts or script URLs), and everything else — same origin only, no inline
// script or style, no data: images, no framing — is the console's.
const DocsContentSecurityPolicy = basePolicy + "trusted-types default dompurify#atrium dompurify#swagger-ui"

// docsFiles maps a URL path ("/docs/init.js") to its content; "/docs" and
// "/docs/" are index.html.
var docsFiles = func() map[string]file {
	out := readFiles(apidocs, "apidocs/dist", "/docs")
	index, ok := out["/docs/index.html"]
	if !ok {
		panic("web: the embedded API reference has no index.html (build web/apidocs)")
	}
	out["/docs"], out["/docs/"] = index, index
	return out
}()

// DocsPatterns are the http.ServeMux patterns of the API reference: the page
// at /docs (and /docs/) and each file under /docs/. Mount DocsHandler on
// every one of them.
func DocsPatterns() []string {
	ps := make([]string, 0, len(docsFiles))
	for p := range docsFiles {
		if p == "/docs/" {
			p = "/docs/{$}"
		}
		ps = append(ps, "GET "+p)
	}
	sort.Strings(ps)
	return ps
}

// DocsHandler serves the embedded API reference under
// DocsContentSecurityPolicy, revalidated on each load like the console.
func DocsHandler() http.Handler {
	return serveFiles(docsFiles, DocsContentSecurityPolicy)
}

// serveFiles serves files with the console's headers and csp.
func serveFiles(files map[string]file, csp string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		f, ok := files[r.URL.Path]
		if !ok {
			h.Set("Cache-Control", "no-store")
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, f.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", f.contentType)
		h.Set("Content-Length", strconv.Itoa(len(f.body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(f.body)
		}
	})
}
