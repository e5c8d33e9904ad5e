package token

import (
	"context"
	"crypto/sha256"
	"testing"
)

// Budgets (DESIGN.md, 2-core machine): uncached RS256 verify <= 60 µs,
// cached validation <= 2 µs.

// BenchmarkVerifyUncached measures Verify when the cache misses: hash,
// parse, signature check, claim checks, cache store. (It enters below the
// cache lookup, which a miss adds some 50 ns to, so that no benchmark-only
// cache flushing pollutes the numbers.)
func BenchmarkVerifyUncached(b *testing.B) {
	for _, alg := range []string{RS256, ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			tb := setup(b, func(o *Options) { o.Algorithm = alg })
			tok, _ := tb.MustIssue(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				h := sha256.Sum256([]byte(tok))
				if _, err := tb.svc.verifyAndCache(ctx, tok, h, tb.clock.Now().UnixNano()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCached measures the cached path, on one goroutine and on
// all cores.
func BenchmarkVerifyCached(b *testing.B) {
	tb := setup(b)
	tok, _ := tb.MustIssue(b)
	ctx := context.Background()
	mustVerify(b, tb.svc, tok)
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tb.svc.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := tb.svc.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkIssue measures signing one token.
func BenchmarkIssue(b *testing.B) {
	for _, alg := range []string{RS256, ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			tb := setup(b, func(o *Options) { o.Algorithm = alg })
			c := tb.claims()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tb.svc.Issue(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
