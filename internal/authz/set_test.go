package authz_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/authz"
)

func TestSet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		grants []string
		perm   string
		want   bool
	}{
		{"Exact", []string{"conversation.read"}, "conversation.read", true},
		{"ExactOther", []string{"conversation.read"}, "conversation.create", false},
		{"ResourceWildcard", []string{"conversation.*"}, "conversation.delete", true},
		{"ResourceWildcardOtherResource", []string{"conversation.*"}, "message.read", false},
		{"PrefixIsNotResource", []string{"conv.*"}, "conversation.read", false},
		{"All", []string{"*"}, "audit.read", true},
		{"None", nil, "conversation.read", false},
		{"NoDot", []string{"conversation.*"}, "conversation", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, authz.NewSet(tc.grants...).Allows(tc.perm))
		})
	}
	var nilSet *authz.Set
	require.False(t, nilSet.Allows("conversation.read"))
}

func TestValidGrant(t *testing.T) {
	t.Parallel()
	for g, want := range map[string]bool{
		"conversation.read": true, "conversation.*": true, "*": true,
		"conversation.fly": false, "nothing.*": false, "": false, "conversation": false,
	} {
		require.Equal(t, want, authz.ValidGrant(g), g)
	}
}

func TestSystemRolesUseCatalog(t *testing.T) {
	t.Parallel()
	for _, r := range authz.SystemRoles {
		for _, g := range r.Grants {
			require.True(t, authz.ValidGrant(g), "%s grants %s", r.Name, g)
		}
	}
}

// BenchmarkPermissionCheckWarm measures Allows on a compiled set. Budget: 200 ns.
func BenchmarkPermissionCheckWarm(b *testing.B) {
	s := authz.NewSet(authz.SystemRoles[1].Grants...)
	b.ReportAllocs()
	for b.Loop() {
		if !s.Allows(authz.MessageRead) {
			b.Fatal("denied")
		}
	}
}

func BenchmarkPermissionCheckWildcard(b *testing.B) {
	s := authz.NewSet("conversation.*", "message.*")
	b.ReportAllocs()
	for b.Loop() {
		if !s.Allows(authz.MessageRead) {
			b.Fatal("denied")
		}
	}
}
