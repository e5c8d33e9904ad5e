package ratelimit_test

import (
	"context"
	"strconv"
	"testing"

	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
)

// keys are distinct keys so the benchmarks measure the hot path, not one
// contended entry.
var keys = func() []string {
	k := make([]string, 1024)
	for i := range k {
		k[i] = "ip:loginFinish|192.0.2." + strconv.Itoa(i)
	}
	return k
}()

var benchLimit = ratelimit.PerSecond(1_000_000, 1_000_000)

func BenchmarkLocalAllow(b *testing.B) {
	l := newLocal(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		l.Allow(ctx, keys[i%len(keys)], benchLimit)
		i++
	}
}

func BenchmarkLocalAllowParallel(b *testing.B) {
	l := newLocal(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(ctx, keys[i%len(keys)], benchLimit)
			i++
		}
	})
}

func BenchmarkRedisAllow(b *testing.B) {
	l := ratelimit.NewRedis(redisClient(b, testkit.RedisURL(b)))
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := l.Allow(ctx, keys[i%len(keys)], benchLimit); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkRedisAllowParallel(b *testing.B) {
	l := ratelimit.NewRedis(redisClient(b, testkit.RedisURL(b)))
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := l.Allow(ctx, keys[i%len(keys)], benchLimit); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkPolicyCheckLocal(b *testing.B) {
	p, err := ratelimit.NewPolicy(ratelimit.Config{PerIP: benchLimit}, newLocal(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		p.Check(ctx, ratelimit.ScopeIP, keys[i%len(keys)])
		i++
	}
}
