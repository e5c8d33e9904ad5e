// Package tenancy reads and changes the settings of the viewer's active
// tenant: its name, what happens to an erased member's resources, and its
// monthly LLM token quota.
package tenancy

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"

	"atrium/ent"
	"atrium/ent/tenant"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// ActionUpdated is the audit action of a settings change.
const ActionUpdated = "tenant.updated"

// Settings are a tenant's settings and the LLM quota in force.
type Settings struct {
	*ent.Tenant
	// Quota is the monthly token quota in force: the tenant's own, or the
	// deployment's; 0 is unlimited.
	Quota int64
}

// Update changes the fields that are set.
type Update struct {
	Name          *string
	ErasurePolicy *tenant.ErasurePolicy
	// LLMMonthlyTokens sets the tenant's own quota (0: unlimited);
	// LLMDefault drops it for the deployment's. At most one of the two.
	LLMMonthlyTokens *int64
	LLMDefault       bool
}

// Service reads and changes tenant settings.
type Service struct {
	client       *ent.Client
	audit        *audit.Writer
	defaultQuota int64
}

// New returns a Service; defaultQuota is the deployment's monthly token
// quota (ATRIUM_LLM_MONTHLY_TOKENS, 0 = unlimited).
func New(client *ent.Client, w *audit.Writer, defaultQuota int64) *Service {
	return &Service{client: client, audit: w, defaultQuota: defaultQuota}
}

// Quota is the monthly token quota in force for t, given the deployment's.
func Quota(t *ent.Tenant, deployment int64) int64 {
	if t.LlmMonthlyTokens != nil {
		return *t.LlmMonthlyTokens
	}
	return deployment
}

// Get returns the active tenant's settings.
func (s *Service) Get(ctx context.Context) (Settings, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return Settings{}, fault.New(fault.Unauthenticated, "no viewer")
	}
	t, err := s.client.Tenant.Get(ctx, v.TenantID)
	if err != nil {
		return Settings{}, fault.FromEnt(err, "tenant")
	}
	return Settings{Tenant: t, Quota: Quota(t, s.defaultQuota)}, nil
}

// Update changes the active tenant's settings and audits which fields
// changed (their names, not their values).
func (s *Service) Update(ctx context.Context, in Update) (Settings, error) {
	var bad []fault.FieldError
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || utf8.RuneCountInString(n) > 200 {
			bad = append(bad, fault.FieldError{Field: "name", Message: "1 to 200 characters"})
		}
		in.Name = &n
	}
	if in.ErasurePolicy != nil {
		if err := tenant.ErasurePolicyValidator(*in.ErasurePolicy); err != nil {
			bad = append(bad, fault.FieldError{Field: "erasure_policy", Message: "delete or transfer"})
		}
	}
	if in.LLMMonthlyTokens != nil && *in.LLMMonthlyTokens < 0 {
		bad = append(bad, fault.FieldError{Field: "llm_monthly_tokens", Message: "0 (unlimited) or more"})
	}
	if in.LLMMonthlyTokens != nil && in.LLMDefault {
		bad = append(bad, fault.FieldError{Field: "llm_monthly_tokens_default", Message: "not together with llm_monthly_tokens"})
	}
	if len(bad) > 0 {
		return Settings{}, fault.Fields(bad...)
	}
	v := viewer.FromContext(ctx)
	if v == nil {
		return Settings{}, fault.New(fault.Unauthenticated, "no viewer")
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		u := tx.Tenant.UpdateOneID(v.TenantID)
		var fields []string
		if in.Name != nil {
			u.SetName(*in.Name)
			fields = append(fields, "name")
		}
		if in.ErasurePolicy != nil {
			u.SetErasurePolicy(*in.ErasurePolicy)
			fields = append(fields, "erasure_policy")
		}
		switch {
		case in.LLMMonthlyTokens != nil:
			u.SetLlmMonthlyTokens(*in.LLMMonthlyTokens)
			fields = append(fields, "llm_monthly_tokens")
		case in.LLMDefault:
			u.ClearLlmMonthlyTokens()
			fields = append(fields, "llm_monthly_tokens")
		}
		if err := u.Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		sort.Strings(fields)
		return audit.Event{Action: ActionUpdated, ResourceType: "tenant", ResourceID: v.TenantID,
			Details: map[string]string{"fields": strings.Join(fields, ",")}}, nil
	})
	if err != nil {
		return Settings{}, fault.FromEnt(err, "tenant")
	}
	return s.Get(ctx)
}
