package httpapi_test

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/httpapi"
)

type specOperation struct {
	OperationID string                 `yaml:"operationId"`
	Security    *[]map[string][]string `yaml:"security"`
}

// TestEveryOperationProtected parses openapi.yaml: every operation is either
// in the public list (and says security: []) or carries exactly one bearer
// permission that exists in the authz catalog.
func TestEveryOperationProtected(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../openapi.yaml")
	require.NoError(t, err)
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &spec))
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}
	var public []string
	n := 0
	for path, item := range spec.Paths {
		for method, node := range item {
			if !slices.Contains(methods, method) {
				continue
			}
			n++
			var op specOperation
			require.NoError(t, node.Decode(&op))
			where := method + " " + path + " (" + op.OperationID + ")"
			require.NotNil(t, op.Security, "%s must declare security explicitly", where)
			reqs := *op.Security
			isPublic := httpapi.IsPublic(api.OperationName(upperFirst(op.OperationID)))
			if len(reqs) == 0 {
				require.True(t, isPublic, "%s has security: [] but is not in httpapi.PublicOperations", where)
				public = append(public, op.OperationID)
				continue
			}
			if i := slices.IndexFunc(reqs, func(r map[string][]string) bool { return len(r) == 0 }); i >= 0 {
				// Optional authentication: [{}, {bearerAuth: [perm]}].
				require.True(t, isPublic, "%s may be called without a token but is not in httpapi.PublicOperations", where)
				public = append(public, op.OperationID)
				reqs = slices.Delete(slices.Clone(reqs), i, i+1)
			} else {
				require.False(t, isPublic, "%s is public-listed but requires a token", where)
			}
			require.Len(t, reqs, 1, "%s: exactly one security requirement", where)
			scopes, ok := reqs[0]["bearerAuth"]
			require.True(t, ok, "%s: must use bearerAuth", where)
			require.Len(t, scopes, 1, "%s: exactly one permission", where)
			require.True(t, authz.Known(scopes[0]), "%s: permission %q is not in the catalog", where, scopes[0])
		}
	}
	require.Greater(t, n, 0)
	require.Len(t, public, len(httpapi.PublicOperations), "every public-listed operation is public in the spec")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// TestEveryChangeAudited: every non-GET operation names the audit action it
// writes, or says why it writes none.
func TestEveryChangeAudited(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../openapi.yaml")
	require.NoError(t, err)
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &spec))
	for path, item := range spec.Paths {
		for method, node := range item {
			if method == "get" || method == "parameters" {
				continue
			}
			var op specOperation
			require.NoError(t, node.Decode(&op))
			name := api.OperationName(upperFirst(op.OperationID))
			actions, audited := httpapi.AuditActions[name]
			_, exempt := httpapi.NotAudited[name]
			require.True(t, audited != exempt, "%s %s (%s): name its audit action in httpapi.AuditActions or its reason in NotAudited", method, path, op.OperationID)
			for _, a := range actions {
				require.Regexp(t, `^[a-z_]+(\.[a-z_]+)+$`, a)
			}
		}
	}
}
