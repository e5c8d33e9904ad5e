// Package requestid carries the request id of the HTTP request being served,
// so that logs, audit events and error bodies name the same request.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/base32"
)

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request id in ctx, or "".
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a random 26-character id.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return enc.EncodeToString(b[:])
}

// Valid reports whether a client-supplied id may be adopted: 1 to 64 bytes of
// [A-Za-z0-9._-], so it cannot inject into logs.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
