package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "atrium/ent/runtime"
	"atrium/internal/apptest"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// setup starts Atrium on SQLite (rate limits off, as apptest does), makes
// two tenants the way `atrium tenant create` does, and seeds them through
// the API.
func setup(t *testing.T) *Bench {
	t.Helper()
	env := apptest.New(t, testkit.SQLite(t))
	var invs []string
	for _, slug := range []string{"load-a", "load-b"} {
		_, inv, err := env.App.Passkeys.BootstrapTenant(env.Ctx, "Load "+slug, slug, nil)
		require.NoError(t, err)
		invs = append(invs, inv.URL) // the link, as printed by tenant create
	}
	b, err := Prepare(t.Context(), Options{URL: env.Server.URL, Origin: "http://localhost:8080", Concurrency: 4,
		Duration: 150 * time.Millisecond, MaxRequests: 200, Invitations: invs,
		Layout: Layout{Users: 6, Teams: 2, ConvsPerUser: 2}, SeedParallelism: 4, WSConns: 12, FanOutRounds: 3,
		RoundTimeout: 10 * time.Second})
	require.NoError(t, err)
	require.Len(t, b.w.Tenants, 2)
	require.NotEqual(t, b.w.Tenants[0].ID, b.w.Tenants[1].ID)
	return b
}

// TestScenarios runs every scenario for a fraction of a second against an
// in-process Atrium: each must finish with requests done and no error, every
// permission check answered as the model says.
func TestScenarios(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range append(httpScenarios, "ws") {
		t.Run(name, func(t *testing.T) {
			rep, err := b.Run(t.Context(), name)
			require.NoError(t, err)
			require.Zero(t, rep.ErrorCount, "errors: %v", rep.Errors)
			require.Positive(t, rep.Requests)
			var out strings.Builder
			rep.WriteText(&out)
			require.Contains(t, out.String(), "errors    none")
			t.Log("\n" + out.String())
			if name == "ws" {
				require.Equal(t, 12, rep.Extra["connections"])
				require.Equal(t, int64(12*3), rep.Requests) // every subscriber got every message
			}
		})
	}
	t.Run("OpenLoop", func(t *testing.T) {
		b.o.Rate = 200
		defer func() { b.o.Rate = 0 }()
		rep, err := b.Run(t.Context(), "read")
		require.NoError(t, err)
		require.Zero(t, rep.ErrorCount, "errors: %v", rep.Errors)
		require.Positive(t, rep.Requests)
		require.LessOrEqual(t, rep.Requests, int64(40)) // 200/s for 150 ms, no more
	})
	t.Run("ErrWrongAnswer", func(t *testing.T) {
		// The model now claims that every member owns conversation 1 of
		// tenant 0: the server disagrees, and that counts.
		c := &b.w.Tenants[0].Convs[1]
		owner := c.Owner
		c.Owner = 2
		defer func() { c.Owner = owner }()
		u := b.w.Tenants[0].Users[2]
		err := checkBatch(context.Background(), u, []CheckItem{{Perm: "conversation.delete", ConvID: c.ID,
			Want: b.w.Layout.Expect(2, "conversation.delete", c, false, 0)}})
		require.ErrorIs(t, err, errWrongAnswer)
		require.Equal(t, "wrong_answer", classify(err))
	})
}

func TestLoadRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	_, err := Load(t.Context(), Options{URL: "http://192.0.2.1:8080", Scenario: "read", Concurrency: 1, Duration: time.Second,
		MaxRequests: 1, Invitations: []string{"x"}, Layout: Layout{Users: 1, ConvsPerUser: 1}})
	require.ErrorIs(t, err, errNotLoopback)
}

// TestSuite runs every row of the suite, scaled down to a few workers and
// connections, on one seeded server, and prints the summary: each row must
// run without error and appear in the table with its verdict.
func TestSuite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	so := SuiteOptions{WS10k: true, Sessions: 10, SessionTime: time.Second}
	steps := Suite(so)
	require.Len(t, steps, 10) // the nine rows of issue #12, logins twice (closed and open loop)
	for i := range steps {
		steps[i].C = min(steps[i].C, 4)
		steps[i].WSConns = min(steps[i].WSConns, 6)
		steps[i].Rounds = min(steps[i].Rounds, 2)
		steps[i].Rate = min(steps[i].Rate, 100)
	}
	results := b.RunSuite(t.Context(), steps, so)
	require.Len(t, results, len(steps))
	var out strings.Builder
	WriteSuite(&out, machine(), b.seed, results)
	t.Log("\n" + out.String())
	for _, r := range results {
		require.Empty(t, r.Error, r.Step.Row)
		require.NotNil(t, r.Report, r.Step.Row)
		require.Zero(t, r.Report.ErrorCount, "%s: %v", r.Step.Row, r.Report.Errors)
		require.NotEmpty(t, r.Measured, r.Step.Row)
		require.Contains(t, out.String(), r.Step.Row)
	}
	// Judged against the targets: six connections are not 10,000.
	require.False(t, results[1].Pass, results[1].Measured)
	require.Contains(t, out.String(), "rows meet their target")
	require.Equal(t, 10, int(results[len(results)-1].Report.Extra["sessions_created"].(int64)))
}
