package token

import (
	"context"
	"strings"
	"testing"
)

// FuzzVerify: whatever the input, Verify never panics and accepts nothing but
// the one genuine token (signatures cover header and payload, and decoding
// is strict, so no other string may verify).
func FuzzVerify(f *testing.F) {
	b := setup(f, func(o *Options) { o.Algorithm = ES256 })
	genuine, _ := b.MustIssue(f)
	parts := strings.Split(genuine, ".")
	f.Add(genuine)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Add(genuine + ".")
	f.Add(strings.ToUpper(genuine))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := b.svc.Verify(context.Background(), tok)
		if err == nil && tok != genuine {
			t.Fatalf("accepted a token that was never issued: %+v", c)
		}
		if err != nil && c != nil {
			t.Fatal("claims returned with an error")
		}
	})
}
