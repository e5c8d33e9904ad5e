package authz_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/metrics"
	"atrium/internal/testkit"
)

// BenchmarkResolver measures one permission check through the resolver: Permissions plus
// Allows. Budget (DESIGN.md): warm ≤ 200 ns, allocation-free.
func BenchmarkResolver(b *testing.B) {
	b.Run("Warm", func(b *testing.B) {
		db := testkit.SQLite(b)
		f := fixtures{b, db.Client}
		r := authz.NewResolver(db.Client, cache.NewLocalBus(), quiet, authz.WithMetrics(metrics.New()))
		b.Cleanup(r.Close)
		t, u := f.Tenant(), f.User()
		f.Member(t, u)
		f.Assign(r, t, u, authz.RoleMemberID)
		ctx := context.Background()
		require.True(b, allows(r, t, u, authz.MessageRead))
		b.ReportAllocs()
		for b.Loop() {
			s, err := r.Permissions(ctx, t, u)
			if err != nil || !s.Allows(authz.MessageRead) {
				b.Fatal("denied")
			}
		}
	})

	b.Run("WarmParallel", func(b *testing.B) {
		db := testkit.SQLite(b)
		f := fixtures{b, db.Client}
		r := authz.NewResolver(db.Client, cache.NewLocalBus(), quiet, authz.WithMetrics(metrics.New()))
		b.Cleanup(r.Close)
		t, u := f.Tenant(), f.User()
		f.Member(t, u)
		f.Assign(r, t, u, authz.RoleMemberID)
		ctx := context.Background()
		require.True(b, allows(r, t, u, authz.MessageRead))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s, err := r.Permissions(ctx, t, u)
				if err != nil || !s.Allows(authz.MessageRead) {
					panic("denied")
				}
			}
		})
	})

	b.Run("ColdPostgres", func(b *testing.B) {
		// Every call reads the database: membership, roles, teams.
		db := testkit.Postgres(b)
		f := fixtures{b, db.Client}
		r := authz.NewResolver(db.Client, cache.NewLocalBus(), quiet, authz.WithoutCache())
		b.Cleanup(r.Close)
		t, u := f.Tenant(), f.User()
		f.Member(t, u)
		f.Assign(r, t, u, authz.RoleMemberID)
		f.Join(r, t, f.Team(t, u), u)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			s, err := r.Permissions(ctx, t, u)
			if err != nil || !s.Allows(authz.MessageRead) {
				b.Fatal("denied")
			}
		}
	})
}

// BenchmarkCrossInstanceRevocation revokes a grant on one instance and spins
// on another until it denies; it reports the p50 and p99 of that delay.
func BenchmarkCrossInstanceRevocation(b *testing.B) {
	db := testkit.Postgres(b)
	url := testkit.RedisURL(b)
	f := fixtures{b, db.Client}
	a, _ := instance(b, db, url)
	c, _ := instance(b, db, url)
	n := max(b.N, 20)
	b.ResetTimer()
	ds := revocationLatencies(b, f, a, c, n)
	b.StopTimer()
	b.ReportMetric(float64(percentile(ds, .50))/float64(time.Microsecond), "p50-µs")
	b.ReportMetric(float64(percentile(ds, .99))/float64(time.Microsecond), "p99-µs")
}
