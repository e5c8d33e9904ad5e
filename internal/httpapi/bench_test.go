package httpapi_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// BenchmarkBearerCheckWarm measures the whole bearer check (token, session,
// permissions, viewer) with every cache warm. Budget: 5 µs.
func BenchmarkBearerCheckWarm(b *testing.B) {
	env := apptest.New(b, testkit.SQLite(b))
	tenant := env.Tenant()
	m := env.Member(tenant.ID, authz.RoleMemberID)
	sec := env.App.Security
	ctx := context.Background()
	t := api.BearerAuth{Token: m.Token, Roles: []string{authz.ConversationRead}}
	_, err := sec.HandleBearerAuth(ctx, api.ListConversationsOperation, t)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := sec.HandleBearerAuth(ctx, api.ListConversationsOperation, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthzCheckBatch measures POST /authz/check through HTTP with
// batches of 100 permission checks (half allowed); checks/s = 100 * ops/s.
// Budget: >= 100,000 checks/s.
func BenchmarkAuthzCheckBatch(b *testing.B) {
	env := apptest.New(b, testkit.SQLite(b))
	m := env.Member(env.Tenant().ID, authz.RoleMemberID)
	req := &api.CheckRequest{}
	for i := range 100 {
		p := authz.ConversationRead
		if i%2 == 1 {
			p = authz.AuditRead
		}
		req.Checks = append(req.Checks, api.CheckRequestChecksItem{Permission: p})
	}
	ctx := context.Background()
	_, err := m.Client.CheckPermissions(ctx, req)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Client.CheckPermissions(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "checks/s")
}
