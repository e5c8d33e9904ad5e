// Package web serves the web console: a static single-page app embedded in
// the binary. Its TypeScript source is web/console, built by esbuild into the
// committed static/app.js (make clients), so serving it needs only Go. It signs
// users in with passkeys and works with /api/v1 through clients/typescript.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every file. Everything comes from this
// origin; no inline script or style, no plugins, no framing, and DOM sinks
// such as innerHTML are closed by Trusted Types (the console never uses them).
const ContentSecurityPolicy = basePolicy + "trusted-types 'none'"

// basePolicy is every directive but the Trusted Types policy names, shared
// by the console and the API reference (DocsContentSecurityPolicy).
const basePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'; require-trusted-types-for 'script'; "

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".jpg":  "image/jpeg",
	".txt":  "text/plain; charset=utf-8",
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps a URL path ("/app.js") to its content; "/" is index.html.
var files = func() map[string]file {
	out := readFiles(static, "static", "")
	out["/"] = out["/index.html"]
	return out
}()

// readFiles maps every file under dir of fsys to its URL path (prefix + its
// path below dir), content type and ETag. The files are part of the binary,
// so an error is a build fault and panics.
func readFiles(fsys embed.FS, dir, prefix string) map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		out[prefix+strings.TrimPrefix(p, dir)] = file{body: b, contentType: ct,
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: reading embedded files under " + dir + ": " + err.Error())
	}
	return out
}

// Patterns are the http.ServeMux patterns the console needs: the page at
// "/" and each embedded file at its own path (GET patterns also match HEAD).
// Mount Handler on every one of them.
func Patterns() []string {
	ps := []string{"GET /{$}"}
	for p := range files {
		if p != "/" {
			ps = append(ps, "GET "+p)
		}
	}
	sort.Strings(ps[1:])
	return ps
}

// Handler serves the embedded console. Every response carries a strict
// Content-Security-Policy; files are revalidated on each load (Cache-Control:
// no-cache with an ETag), because their names carry no content hash.
func Handler() http.Handler {
	return serveFiles(files, ContentSecurityPolicy)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
