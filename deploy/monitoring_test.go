package deploy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"atrium/internal/app"
	"atrium/internal/config"
)

// promtool returns the path of promtool; it fails the test in CI
// (ATRIUM_TEST_REQUIRE_SERVICES=1, where .ci/run installs it) and skips it
// elsewhere.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("ATRIUM_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("promtool is required in CI (Debian package prometheus): %v", err)
		}
		t.Skip("promtool not installed (Debian package prometheus); CI runs this")
	}
	return p
}

// TestPrometheusRules: the alert rules are valid and their unit tests pass.
func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func alertRules(t *testing.T) ruleFile {
	b, err := os.ReadFile("prometheus/alerts.yaml")
	require.NoError(t, err)
	var rf ruleFile
	require.NoError(t, yaml.Unmarshal(b, &rf))
	require.NotEmpty(t, rf.Groups)
	return rf
}

// dashboardExprs returns the query of every panel of the Grafana dashboard
// and its variables.
func dashboardExprs(t *testing.T) []string {
	b, err := os.ReadFile("grafana/atrium.json")
	require.NoError(t, err)
	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.Equal(t, "atrium", d.UID)
	var out []string
	for _, p := range d.Panels {
		if p.Type != "row" {
			require.NotEmpty(t, p.Targets)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			out = append(out, q["query"].(string))
		}
	}
	return out
}

// metricName matches the metric names in a PromQL expression: Atrium's, the
// database pool's, the Go runtime's and the process's.
var metricName = regexp.MustCompile(`\b(?:atrium|go|process)_[a-z0-9_]+\b`)

// TestMonitoringNamesRealMetrics: every metric the alert rules and the
// dashboard query is one a running instance registers (a renamed metric
// would silently empty a panel and mute an alert), and every alert is
// explained in docs/monitoring.md.
func TestMonitoringNamesRealMetrics(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer a.Close()
	registered := a.Metrics.Names()
	require.Contains(t, registered, "atrium_http_requests_total")

	known := func(name string) bool {
		if slices.Contains(registered, name) {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(registered, base) {
				return true
			}
		}
		return false
	}
	exprs := dashboardExprs(t)
	doc, err := os.ReadFile("../docs/monitoring.md")
	require.NoError(t, err)
	for _, g := range alertRules(t).Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			require.NotEmpty(t, r.Labels["severity"], r.Alert)
			require.Contains(t, r.Annotations["runbook_url"], "docs/monitoring.md#"+strings.ToLower(r.Alert), r.Alert)
			require.Contains(t, string(doc), "### "+r.Alert, "docs/monitoring.md explains %s", r.Alert)
		}
	}
	seen := 0
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			seen++
			require.True(t, known(name), "%s (in %q) is not a metric Atrium registers", name, e)
		}
	}
	require.Greater(t, seen, 20)
}
