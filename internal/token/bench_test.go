package token

import (
	"context"
	"testing"
)

// Budgets (DESIGN.md, 2-core machine): uncached RS256 verify <= 60 µs,
// cached validation <= 2 µs.

// BenchmarkVerifyUncached measures Verify when the cache misses: hash, cache
// lookup, parse, signature check, claim checks, cache store. Each iteration
// empties the cache first, outside the timer.
func BenchmarkVerifyUncached(b *testing.B) {
	for _, alg := range []string{RS256, ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			tb := setup(b, func(o *Options) { o.Algorithm = alg })
			tok, _ := tb.MustIssue(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				tb.svc.cache.InvalidateAll()
				b.StartTimer()
				if _, err := tb.svc.Verify(ctx, tok); err != nil {
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
