package authz_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/share"
	"atrium/internal/viewer"

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

// BenchmarkAccessCheck measures Access.Check of a batch of 100 resource
// checks (owned, shared with the user, shared with a team, not shared, not
// existing), as POST /authz/check runs them: Cached with every resource's
// facts warm (no query), Uncached reading owners and shares each time.
func BenchmarkAccessCheck(b *testing.B) {
	for _, cached := range []bool{true, false} {
		name := "Uncached"
		if cached {
			name = "Cached"
		}
		b.Run(name, func(b *testing.B) {
			db := testkit.SQLite(b)
			f := fixtures{b, db.Client}
			r := authz.NewResolver(db.Client, cache.NewLocalBus(), quiet)
			b.Cleanup(r.Close)
			var n atomic.Int64
			cr := r
			if !cached {
				cr = nil
			}
			a := accessOn(db, cr, &n, nil)
			tn, owner, reader := f.Tenant(), f.User(), f.User()
			f.Member(tn, owner)
			f.Member(tn, reader)
			team := f.Team(tn, owner)
			ctx := viewer.SystemForTenant(context.Background(), tn, viewer.ReasonTest)
			var items []authz.CheckItem
			for i := range 100 {
				id := uuid.New()
				if i%5 != 4 {
					id = f.Conversation(tn, owner)
				}
				switch i % 5 {
				case 1:
					require.NoError(b, db.Client.Share.Create().SetTenantID(tn).SetResourceType(authz.Conversation).SetResourceID(id).
						SetSubjectType(share.SubjectTypeUser).SetSubjectID(reader).SetLevel(share.LevelViewer).SetCreatedBy(owner).SetUpdatedBy(owner).Exec(ctx))
				case 2:
					require.NoError(b, db.Client.Share.Create().SetTenantID(tn).SetResourceType(authz.Conversation).SetResourceID(id).
						SetSubjectType(share.SubjectTypeTeam).SetSubjectID(team).SetLevel(share.LevelEditor).SetCreatedBy(owner).SetUpdatedBy(owner).Exec(ctx))
				}
				items = append(items, authz.CheckItem{Permission: authz.ConversationRead, ResourceType: authz.Conversation, ResourceID: id})
			}
			vctx := member(tn, reader, team)
			res, err := a.Check(vctx, items)
			require.NoError(b, err)
			require.True(b, res[1].Allowed)
			require.True(b, res[2].Allowed)
			require.False(b, res[0].Allowed)
			before := n.Load()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Check(vctx, items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n.Load()-before)/float64(b.N), "owner-queries/op")
		})
	}
}
