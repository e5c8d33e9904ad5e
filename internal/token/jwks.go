package token

import (
	"net/http"
	"strconv"
)

// Handler serves the JWKS (mount it at /.well-known/jwks.json). Clients may
// cache it for five minutes, which Options.PublishDelay accounts for; the
// ETag lets them revalidate cheaply.
func (r *KeyRing) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s := r.current()
		h := w.Header()
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(jwksMaxAge.Seconds())))
		h.Set("Content-Type", "application/json")
		h.Set("ETag", s.etag)
		if match := req.Header.Get("If-None-Match"); match != "" && match == s.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(s.jwks)))
		if req.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(s.jwks)
	})
}
