package tenancy_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/tenant"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/tenancy"
	"atrium/internal/testkit"
	"atrium/internal/viewer"
)

const deploymentQuota = 1000

func setup(t *testing.T) (*tenancy.Service, context.Context) {
	t.Helper()
	db := testkit.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tn, err := db.Client.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).
		Save(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(t, err)
	return tenancy.New(db.Client, audit.NewWriter(db.Client, db.Dialect, log), deploymentQuota),
		viewer.SystemForTenant(context.Background(), tn.ID, viewer.ReasonTest)
}

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s, ctx := setup(t)
		got, err := s.Update(ctx, tenancy.Update{Name: ptr("  Acme  "), ErasurePolicy: ptr(tenant.ErasurePolicyTransfer)})
		require.NoError(t, err)
		require.Equal(t, "Acme", got.Name)
		require.Equal(t, tenant.ErasurePolicyTransfer, got.ErasurePolicy)
		require.Equal(t, int64(deploymentQuota), got.Quota, "no own quota: the deployment's")
	})
	t.Run("OKQuotaOverrideAndDefault", func(t *testing.T) {
		t.Parallel()
		s, ctx := setup(t)
		got, err := s.Update(ctx, tenancy.Update{LLMMonthlyTokens: ptr(int64(0))})
		require.NoError(t, err)
		require.Zero(t, got.Quota, "an own quota of 0 is unlimited, not the deployment's")
		got, err = s.Update(ctx, tenancy.Update{LLMDefault: true})
		require.NoError(t, err)
		require.Equal(t, int64(deploymentQuota), got.Quota)
		again, err := s.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(deploymentQuota), again.Quota)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s, ctx := setup(t)
		_, err := s.Update(ctx, tenancy.Update{Name: ptr("   "), ErasurePolicy: ptr(tenant.ErasurePolicy("keep")),
			LLMMonthlyTokens: ptr(int64(-1)), LLMDefault: true})
		fe := fault.As(err)
		require.NotNil(t, fe, "err: %v", err)
		require.Equal(t, fault.Invalid, fe.Code)
		var fields []string
		for _, f := range fe.Fields {
			fields = append(fields, f.Field)
		}
		require.ElementsMatch(t, []string{"name", "erasure_policy", "llm_monthly_tokens", "llm_monthly_tokens_default"}, fields)
		got, err := s.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, "T", got.Name, "a refused update changed nothing")
	})
	t.Run("ErrNameTooLong", func(t *testing.T) {
		t.Parallel()
		s, ctx := setup(t)
		_, err := s.Update(ctx, tenancy.Update{Name: ptr(strings.Repeat("é", 201))})
		require.Equal(t, fault.Invalid, fault.As(err).Code)
	})
	t.Run("ErrNoViewer", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		_, err := s.Get(context.Background())
		require.Equal(t, fault.Unauthenticated, fault.As(err).Code)
	})
}
