package httpapi

import (
	"context"

	"atrium/ent/tenant"
	"atrium/gen/api"
	"atrium/internal/tenancy"
)

// Tenancy is what the tenant settings operations need.
type Tenancy interface {
	Get(ctx context.Context) (tenancy.Settings, error)
	Update(ctx context.Context, in tenancy.Update) (tenancy.Settings, error)
}

// GetTenantSettings implements getTenantSettings.
// GET /tenant
func (h *Handler) GetTenantSettings(ctx context.Context) (*api.TenantSettings, error) {
	return tenantOut(h.tenancy.Get(ctx))
}

// UpdateTenantSettings implements updateTenantSettings.
// PATCH /tenant
func (h *Handler) UpdateTenantSettings(ctx context.Context, req *api.TenantSettingsUpdate) (*api.TenantSettings, error) {
	var in tenancy.Update
	if v, ok := req.Name.Get(); ok {
		in.Name = &v
	}
	if v, ok := req.ErasurePolicy.Get(); ok {
		p := tenant.ErasurePolicy(v)
		in.ErasurePolicy = &p
	}
	if v, ok := req.LlmMonthlyTokens.Get(); ok {
		in.LLMMonthlyTokens = &v
	}
	in.LLMDefault = req.LlmMonthlyTokensDefault.Or(false)
	return tenantOut(h.tenancy.Update(ctx, in))
}

func tenantOut(s tenancy.Settings, err error) (*api.TenantSettings, error) {
	if err != nil {
		return nil, err
	}
	out := &api.TenantSettings{ID: s.ID, Name: s.Name, Slug: s.Slug, Status: api.TenantSettingsStatus(s.Status),
		ErasurePolicy: api.ErasurePolicy(s.ErasurePolicy), LlmMonthlyTokensEffective: s.Quota,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.LlmMonthlyTokens != nil {
		out.LlmMonthlyTokens = api.NewOptInt64(*s.LlmMonthlyTokens)
	}
	return out, nil
}
