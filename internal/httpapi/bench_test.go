package httpapi_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/testkit"
	"atrium/internal/token"
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

// BenchmarkBearerCheckServiceAccount is BenchmarkBearerCheckWarm for a
// service account's token: no session, but the account and its roles are
// read from the database on every request (so disabling it applies at once).
func BenchmarkBearerCheckServiceAccount(b *testing.B) {
	env := apptest.New(b, testkit.SQLite(b))
	tenant := env.Tenant()
	admin := env.Member(tenant.ID, authz.RoleAdminID)
	ctx := context.Background()
	sa, err := admin.Client.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "bench", RoleIds: []uuid.UUID{authz.RoleMemberID}})
	require.NoError(b, err)
	tok := env.Issue(token.Claims{Subject: sa.ID, TenantID: tenant.ID, ClientID: sa.ID})
	sec := env.App.Security
	t := api.BearerAuth{Token: tok, Roles: []string{authz.ConversationRead}}
	_, err = sec.HandleBearerAuth(ctx, api.ListConversationsOperation, t)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := sec.HandleBearerAuth(ctx, api.ListConversationsOperation, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceAccountToken measures one assertion exchange through HTTP
// (parse, key lookup, ES256 verify, jti insert, audit event, token issue).
func BenchmarkServiceAccountToken(b *testing.B) {
	env := apptest.New(b, testkit.SQLite(b))
	tenant := env.Tenant()
	admin := env.Member(tenant.ID, authz.RoleAdminID)
	ctx := context.Background()
	sa, err := admin.Client.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "bench"})
	require.NoError(b, err)
	k := newSAKey(b, "ES256")
	reg, err := admin.Client.AddServiceAccountKey(ctx, &api.ServiceAccountKeyCreate{PublicKey: k.pem},
		api.AddServiceAccountKeyParams{ServiceAccountId: sa.ID})
	require.NoError(b, err)
	k.kid = reg.Kid
	anon, aud := env.Client(""), env.App.ServiceAccounts.TokenEndpoint()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a := k.sign(b, sa.ID, aud, env.Now(), nil)
		if _, err := saToken(ctx, anon, &api.ServiceAccountTokenRequest{
			GrantType: grantJWTBearer, Assertion: api.NewOptString(a)}); err != nil {
			b.Fatal(err)
		}
	}
}
