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
