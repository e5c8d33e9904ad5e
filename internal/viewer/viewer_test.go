package viewer_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/viewer"
)

func TestReasons(t *testing.T) {
	t.Parallel()
	t.Run("OK/BoundedAndNamed", func(t *testing.T) {
		seen := map[string]bool{}
		for _, r := range viewer.Reasons() {
			name := r.String()
			require.NotEmpty(t, name)
			require.NotEqual(t, "none", name)
			require.False(t, seen[name], "duplicate reason name %q", name)
			seen[name] = true
		}
		require.LessOrEqual(t, len(seen), 20, "reasons are metric labels: keep the set small")
	})
	t.Run("OK/Counted", func(t *testing.T) {
		before := viewer.Count(viewer.ReasonOperator)
		ctx := viewer.System(context.Background(), viewer.ReasonOperator)
		require.True(t, viewer.FromContext(ctx).IsSystem())
		require.Equal(t, viewer.ReasonOperator, viewer.FromContext(ctx).Reason())
		require.Greater(t, viewer.Count(viewer.ReasonOperator), before)
	})
	t.Run("OK/OutOfRangeIsUnlisted", func(t *testing.T) {
		ctx := viewer.System(context.Background(), viewer.Reason(200))
		require.Equal(t, viewer.ReasonUnlisted, viewer.FromContext(ctx).Reason())
		ctx = viewer.System(context.Background(), viewer.ReasonNone)
		require.Equal(t, viewer.ReasonUnlisted, viewer.FromContext(ctx).Reason())
	})
}

func TestForUser(t *testing.T) {
	t.Parallel()
	u, tn, s := uuid.New(), uuid.New(), uuid.New()
	member := viewer.NewContext(context.Background(), &viewer.Viewer{UserID: u, TenantID: tn, SessionID: s})
	v := viewer.FromContext(viewer.ForUser(member, u))
	require.True(t, v.IsSelf())
	require.False(t, v.IsSystem())
	require.Equal(t, u, v.UserID)
	require.Equal(t, uuid.Nil, v.TenantID, "a self viewer has no tenant")
	require.Equal(t, s, v.SessionID)
	require.False(t, v.Allows("conversation.read"))
	// Another person's self viewer does not inherit the session.
	require.Equal(t, uuid.Nil, viewer.FromContext(viewer.ForUser(member, uuid.New())).SessionID)
}
