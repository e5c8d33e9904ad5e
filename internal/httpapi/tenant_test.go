package httpapi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/config"
	"atrium/internal/testkit"
)

// TestTenantSettings: an admin reads and changes the active tenant's
// settings; the change is audited with field names only; members cannot;
// another tenant's settings are never touched; bad input is a 400.
func TestTenantSettings(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		t.Run("OK", func(t *testing.T) {
			s, err := a.GetTenantSettings(ctx)
			require.NoError(t, err)
			require.Equal(t, bu.tenantA, s.ID)
			require.Equal(t, api.ErasurePolicyTransfer, s.ErasurePolicy)
			require.False(t, s.LlmMonthlyTokens.Set, "no quota of its own")

			up, err := a.UpdateTenantSettings(ctx, &api.TenantSettingsUpdate{Name: api.NewOptString("  Acme  "),
				ErasurePolicy: api.NewOptErasurePolicy(api.ErasurePolicyDelete), LlmMonthlyTokens: api.NewOptInt64(5000)})
			require.NoError(t, err)
			require.Equal(t, "Acme", up.Name)
			require.Equal(t, api.ErasurePolicyDelete, up.ErasurePolicy)
			require.Equal(t, int64(5000), up.LlmMonthlyTokens.Value)
			require.Equal(t, int64(5000), up.LlmMonthlyTokensEffective)

			back, err := a.UpdateTenantSettings(ctx, &api.TenantSettingsUpdate{LlmMonthlyTokensDefault: api.NewOptBool(true)})
			require.NoError(t, err)
			require.False(t, back.LlmMonthlyTokens.Set)
			require.Equal(t, "Acme", back.Name, "fields not sent are kept")

			ev, err := a.ListAuditEvents(ctx, api.ListAuditEventsParams{Action: api.NewOptString("tenant.updated")})
			require.NoError(t, err)
			require.Len(t, ev.Items, 2)
			require.Equal(t, "llm_monthly_tokens", ev.Items[0].Details.Value["fields"])
			require.Equal(t, "erasure_policy,llm_monthly_tokens,name", ev.Items[1].Details.Value["fields"])

			other, err := bu.b.Client.GetTenantSettings(ctx)
			require.NoError(t, err)
			require.Equal(t, bu.tenantB, other.ID)
			require.Equal(t, api.ErasurePolicyTransfer, other.ErasurePolicy, "another tenant is untouched")
		})
		t.Run("ErrMemberForbidden", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.GetTenantSettings(ctx)
			requireStatus(t, err, 403)
			_, err = m.Client.UpdateTenantSettings(ctx, &api.TenantSettingsUpdate{Name: api.NewOptString("Mine now")})
			requireStatus(t, err, 403)
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			for _, in := range []*api.TenantSettingsUpdate{
				{Name: api.NewOptString("   ")},
				{LlmMonthlyTokens: api.NewOptInt64(10), LlmMonthlyTokensDefault: api.NewOptBool(true)},
			} {
				_, err := a.UpdateTenantSettings(ctx, in)
				requireStatus(t, err, 400)
			}
		})
	})
}

// TestTenantQuota: a tenant's own quota overrides the deployment's, both
// ways, and only for that tenant.
func TestTenantQuota(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, testkit.SQLite(t), func(c *config.Config) { c.LLMMonthlyTokens = 0 }) // unlimited by default
	small, big := env.Tenant(), env.Tenant()
	admin := env.Member(small.ID, authz.RoleAdminID)
	other := env.Member(big.ID, authz.RoleAdminID)
	ctx := t.Context()
	_, err := admin.Client.UpdateTenantSettings(ctx, &api.TenantSettingsUpdate{LlmMonthlyTokens: api.NewOptInt64(12)})
	require.NoError(t, err)
	call := func(m *apptest.Member) error {
		_, err := m.Client.CreateCompletion(ctx, completion("echo-1", "one two three four five"))
		return err
	}
	for range 10 {
		if err = call(admin); err != nil {
			break
		}
	}
	requireStatus(t, err, 429)
	for range 10 {
		require.NoError(t, call(other), "the other tenant keeps the deployment's (unlimited) quota")
	}
	_, err = admin.Client.UpdateTenantSettings(ctx, &api.TenantSettingsUpdate{LlmMonthlyTokens: api.NewOptInt64(0)})
	require.NoError(t, err)
	require.NoError(t, call(admin), "0 is unlimited")
}
