// Package deploy holds the deployment files; its test lints them offline
// (no container runtime, no Kubernetes schemas: the network is limited).
package deploy

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestDockerfile: multi-stage, static build, non-root, healthcheck without a shell.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	var from []string
	var user, health, build string
	sc := bufio.NewScanner(bytes.NewReader(b))
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, cont = cont+line, ""
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			from = append(from, rest)
		case "USER":
			user = rest
		case "HEALTHCHECK":
			health = rest
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		}
	}
	require.Len(t, from, 2, "multi-stage")
	require.Contains(t, from[1], "distroless/static")
	require.Contains(t, user, "nonroot")
	require.Contains(t, health, `CMD ["/usr/local/bin/atrium", "healthcheck"]`, "exec form: distroless has no shell")
	require.Contains(t, build, "CGO_ENABLED=0")
	require.Contains(t, build, "-trimpath")
	require.Contains(t, build, "-X main.version=")
	ign, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	for _, p := range []string{".git", "**/*.db", "**/kek", ".env*"} {
		require.Contains(t, string(ign), p)
	}
}

func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			require.ErrorContains(t, err, "EOF", path)
			return out
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// TestKubernetes: every manifest has apiVersion/kind/metadata.name; pods run
// non-root on a read-only root filesystem with resources; the Deployment's
// probes hit /api/v1/ready and /api/v1/health. (Schema validation with
// kubeconform needs schemas from the network; these are the checks we can
// make offline.)
func TestKubernetes(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("kubernetes/*.yaml")
	require.NoError(t, err)
	kinds := map[string]bool{}
	for _, f := range files {
		for _, d := range docs(t, f) {
			kind, _ := d["kind"].(string)
			require.NotEmpty(t, d["apiVersion"], f)
			require.NotEmpty(t, kind, f)
			kinds[kind] = true
			if kind == "Kustomization" {
				for _, r := range get(d, "resources").([]any) {
					require.FileExists(t, filepath.Join("kubernetes", r.(string)))
				}
				continue
			}
			require.NotEmpty(t, get(d, "metadata", "name"), f)
			pod := get(d, "spec", "template", "spec")
			if pod == nil {
				continue
			}
			require.Equal(t, true, get(pod, "securityContext", "runAsNonRoot"), f)
			require.Equal(t, false, get(pod, "automountServiceAccountToken"), f)
			for _, c := range get(pod, "containers").([]any) {
				require.Equal(t, true, get(c, "securityContext", "readOnlyRootFilesystem"), f)
				require.Equal(t, false, get(c, "securityContext", "allowPrivilegeEscalation"), f)
				require.NotNil(t, get(c, "resources", "requests"), f)
				require.NotNil(t, get(c, "resources", "limits", "memory"), f)
				if kind == "Deployment" {
					require.Equal(t, "/api/v1/ready", get(c, "readinessProbe", "httpGet", "path"))
					require.Equal(t, "/api/v1/health", get(c, "livenessProbe", "httpGet", "path"))
				}
			}
		}
	}
	for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget", "Job", "Secret", "NetworkPolicy", "ConfigMap"} {
		require.True(t, kinds[k], "missing %s", k)
	}
}

// TestCompose: two instances after a one-shot migration, behind Caddy with HSTS.
func TestCompose(t *testing.T) {
	t.Parallel()
	d := docs(t, "compose.yaml")
	require.Len(t, d, 1)
	svc := get(d[0], "services").(map[string]any)
	for _, s := range []string{"postgres", "redis", "migrate", "atrium-1", "atrium-2", "caddy"} {
		require.Contains(t, svc, s)
	}
	require.Equal(t, []any{"migrate", "apply"}, get(svc, "migrate", "command"))
	require.Equal(t, "service_completed_successfully", get(svc, "atrium-1", "depends_on", "migrate", "condition"))
	require.NotEmpty(t, get(svc, "atrium-2", "environment", "ATRIUM_TRUSTED_PROXIES"))
	require.Equal(t, []any{"atrium.env"}, get(svc, "atrium-1", "env_file"))
	caddy, err := os.ReadFile("Caddyfile")
	require.NoError(t, err)
	require.Contains(t, string(caddy), "Strict-Transport-Security")
}

// TestSystemd: the unit is hardened.
func TestSystemd(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("systemd/atrium.service")
	require.NoError(t, err)
	for _, l := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "EnvironmentFile=", "StateDirectory=atrium"} {
		require.Contains(t, string(b), "\n"+l)
	}
}
