// Command ogenpool is a `go generate` step after ogen: the server's response
// encoders in gen/api take their JSON encoder from jx's pool and put it back
// when the response is written, instead of allocating a new one per response
// (ogen writes `e := new(jx.Encoder)`).
//
// A page of 50 conversations is ~20 KB of JSON; a new encoder grows its
// buffer from nothing to that size on every response, which was a quarter of
// the list endpoint's allocations (docs/performance.md). The pooled encoder
// keeps its buffer. Only the response encoders change: each writes its
// encoder to the http.ResponseWriter (`e.WriteTo(w)`) before it returns, so
// nothing refers to the buffer once it is back in the pool. The request
// encoders of the client hand their bytes to the request body and keep
// ogen's code.
//
// It fails, so that `go generate` fails, when ogen's output no longer has the
// shape it expects: no encoder to replace, an encoder that is not written to
// the ResponseWriter, or one whose bytes escape (`e.Bytes()`).
//
// Usage: go run ./internal/ogenpool gen/api/oas_response_encoders_gen.go
package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

var newEncoder = regexp.MustCompile(`(?m)^(\t+)e := new\(jx\.Encoder\)\n`)

const marker = "// Response encoders take their jx.Encoder from jx's pool (internal/ogenpool).\n"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ogenpool FILE")
		os.Exit(2)
	}
	if err := patch(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "ogenpool:", err)
		os.Exit(1)
	}
}

func patch(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := pool(string(b))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// pool rewrites the response encoders of src (ogen's
// oas_response_encoders_gen.go) to use pooled encoders.
func pool(src string) (string, error) {
	if strings.Contains(src, marker) {
		return "", fmt.Errorf("already patched")
	}
	if strings.Contains(src, "e.Bytes()") {
		return "", fmt.Errorf("an encoder's bytes escape (e.Bytes()): pooling is unsafe")
	}
	n := len(newEncoder.FindAllStringIndex(src, -1))
	if n == 0 {
		return "", fmt.Errorf("no `e := new(jx.Encoder)` to replace: ogen's output changed")
	}
	if w := strings.Count(src, "e.WriteTo(w)"); w != n {
		return "", fmt.Errorf("%d encoders but %d written with e.WriteTo(w): ogen's output changed", n, w)
	}
	out := newEncoder.ReplaceAllString(src, "${1}e := jx.GetEncoder()\n${1}defer jx.PutEncoder(e)\n")
	i := strings.Index(out, "\npackage ")
	if i < 0 {
		return "", fmt.Errorf("no package clause")
	}
	j := i + 1 + strings.IndexByte(out[i+1:], '\n') + 1 // after the package clause
	return out[:j] + "\n" + marker + out[j:], nil
}
