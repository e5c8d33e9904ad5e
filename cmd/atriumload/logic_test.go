package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestWorkerUsers(t *testing.T) {
	w := &World{}
	for ti, n := range []int{3, 2} {
		td := &TenantData{}
		for i := range n {
			td.Users = append(td.Users, &User{Tenant: ti, Index: i})
		}
		w.Tenants = append(w.Tenants, td)
	}
	order := func() (out [][2]int) {
		for _, u := range w.workerUsers() {
			out = append(out, [2]int{u.Tenant, u.Index})
		}
		return out
	}
	require.Equal(t, [][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}}, order(), "default: tenant order")
	w.Spread = true
	require.Equal(t, [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}}, order(), "spread: every tenant in turn")
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s := make(Samples, 100)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond // 1..100 ms, sorted
		}
		require.Equal(t, 50*time.Millisecond, s.Percentile(0.5))
		require.Equal(t, 90*time.Millisecond, s.Percentile(0.9))
		require.Equal(t, 99*time.Millisecond, s.Percentile(0.99))
		require.Equal(t, 100*time.Millisecond, s.Percentile(1))
		require.Equal(t, 1*time.Millisecond, s.Percentile(0.001))
	})
	t.Run("OKSmall", func(t *testing.T) {
		t.Parallel()
		s := Samples{1, 2, 3}
		require.Equal(t, time.Duration(2), s.Percentile(0.5)) // nearest rank: ceil(1.5) = 2
		require.Equal(t, time.Duration(3), s.Percentile(0.99))
	})
	t.Run("OKEmpty", func(t *testing.T) {
		t.Parallel()
		require.Zero(t, Samples(nil).Percentile(0.99))
	})
}

func TestIntended(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	require.Equal(t, start, Intended(start, 0, 2000))
	require.Equal(t, start.Add(500*time.Microsecond), Intended(start, 1, 2000))
	require.Equal(t, start.Add(time.Second), Intended(start, 2000, 2000))
	require.Equal(t, start.Add(4*time.Millisecond), Intended(start, 1, 250))
	// The schedule does not drift: request i is due at exactly i/rate.
	require.Equal(t, start.Add(3*time.Second), Intended(start, 1000, 1000.0/3))
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "https://127.0.0.2"} {
			_, err := checkLoopback(u)
			require.NoError(t, err, u)
		}
	})
	t.Run("ErrNotLoopback", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"http://10.0.0.1:8080", "http://example.com", "http://0.0.0.0:8080", "http://127.0.0.1.nip.io"} {
			_, err := checkLoopback(u)
			require.ErrorIs(t, err, errNotLoopback, u)
		}
		_, err := checkLoopback("ftp://127.0.0.1")
		require.Error(t, err)
	})
}

func TestInvitationToken(t *testing.T) {
	t.Parallel()
	require.Equal(t, "abc_D-9", invitationToken("  http://localhost:8080/#/enroll?invitation=abc_D-9\n"))
	require.Equal(t, "abc_D-9", invitationToken("abc_D-9"))
	require.Equal(t, "tok", invitationToken("First admin's enrollment link:\n\n  http://x/#/enroll?invitation=tok\n\nSend it"))
}

func TestExpect(t *testing.T) {
	t.Parallel()
	l := Layout{Users: 5, Teams: 2, ConvsPerUser: 2} // 10 conversations
	convs := l.Convs(0)
	// conversation 0: owner 0, user share 1 (viewer), team share 0 (editor: users 1, 3)
	// conversation 3: owner 3, no user share, team share 1 (users 2, 4)
	// conversation 4: owner 4, user share 0 (the admin), no team share
	// conversation 7: owner 2, nothing shared
	c0, c3, c7 := &convs[0], &convs[3], &convs[7]
	require.Equal(t, Conv{Tenant: 0, Owner: 0, UserShare: 1, TeamShare: 0}, *c0)
	require.Equal(t, Conv{Tenant: 0, Owner: 3, UserShare: -1, TeamShare: 1}, *c3)
	require.Equal(t, Conv{Tenant: 0, Owner: 2, UserShare: -1, TeamShare: -1}, *c7)
	require.Equal(t, 0, l.TeamOf(1))
	require.Equal(t, 1, l.TeamOf(2))
	require.Equal(t, -1, l.TeamOf(0))

	other := l.Convs(1)
	for _, tc := range []struct {
		name   string
		u      int
		perm   string
		c      *Conv
		hidden bool
		want   Answer
	}{
		{"OwnerDeletes", 2, "conversation.delete", c7, false, Answer{true, "owner"}},
		{"AdminManages", 0, "conversation.delete", c7, false, Answer{true, "manage"}},
		{"AdminOwns", 0, "conversation.manage", c0, false, Answer{true, "owner"}},
		{"MemberCannotManage", 2, "conversation.manage", c7, false, Answer{false, "missing_permission"}},
		{"TeamEditorUpdates", 3, "conversation.update", c0, false, Answer{true, "shared_team"}},
		{"TeamEditorCannotShare", 3, "conversation.share", c0, false, Answer{false, "insufficient_level"}},
		{"TeamBeatsUserShare", 1, "message.create", c0, false, Answer{true, "shared_team"}},
		{"UserViewerReads", 3, "message.read", &convs[2], false, Answer{true, "shared_user"}},
		{"UserViewerCannotWrite", 3, "message.create", &convs[2], false, Answer{false, "insufficient_level"}},
		{"StrangerNotVisible", 1, "conversation.read", c7, false, Answer{false, "not_visible"}},
		{"ErrCrossTenant", 0, "conversation.read", &other[0], false, Answer{false, "not_visible"}},
		{"ErrNoSuchID", 1, "conversation.read", nil, true, Answer{false, "not_visible"}},
		{"MissingPermBeforeResource", 1, "conversation.manage", nil, true, Answer{false, "missing_permission"}},
		{"RoleWithoutResource", 1, "conversation.create", nil, false, Answer{true, "role"}},
		{"MemberNoTeamManage", 1, "team.manage", nil, false, Answer{false, "missing_permission"}},
		{"AdminTeamManage", 0, "team.manage", nil, false, Answer{true, "role"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, l.Expect(tc.u, tc.perm, tc.c, tc.hidden, 0))
		})
	}
	t.Run("OKReadable", func(t *testing.T) {
		t.Parallel()
		// user 3 owns 3 and 8, reads 0 (team 0) and 6 (team 0), and 2 (user share from owner 2).
		require.Equal(t, []int{0, 2, 3, 6, 8}, l.Readable(convs, 0, 3))
	})
	t.Run("OKBatchDeterministic", func(t *testing.T) {
		t.Parallel()
		all := [][]Conv{convs, other}
		for i := range convs {
			convs[i].ID = uuid.New()
		}
		a := l.Batch(rand.New(rand.NewPCG(1, 2)), all, 0, 3, 100)
		b := l.Batch(rand.New(rand.NewPCG(1, 2)), all, 0, 3, 100)
		require.Len(t, a, 100)
		require.Equal(t, len(a), len(b))
		reasons := map[string]int{}
		for i := range a {
			require.Equal(t, a[i].Perm, b[i].Perm)
			require.Equal(t, a[i].Want, b[i].Want)
			reasons[a[i].Want.Reason]++
		}
		require.Greater(t, reasons["not_visible"], 0)
		require.Greater(t, reasons["owner"], 0)
	})
}
