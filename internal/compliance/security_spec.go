package compliance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"atrium/internal/authz"
)

// PasskeyOperations are the only operations under /auth/ that may be called
// without a token: the passkey ceremonies, the token exchange (which itself
// needs a refresh or access token in its body) and the service accounts'
// token endpoint (which needs a JWT assertion signed by a registered key:
// proof of a private key, never a shared secret).
var PasskeyOperations = []string{"registerDeviceOptions", "registerDevice", "loginOptions", "login", "exchangeToken", "serviceAccountToken"}

// credentialFields are name fragments no request field may carry: a
// password-like input would be a second way to sign in.
var credentialFields = []string{"password", "passwd", "passcode", "passphrase", "secret"}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// securityReqs is an OpenAPI security requirement list; nil means "not
// declared", an empty list means public.
type securityReqs = *[]map[string][]string

type specOperation struct {
	Path, Method, ID string
	Security         securityReqs // as declared on the operation
	Effective        []map[string][]string
	node             map[string]any
	pathParams       []any
}

func (o specOperation) String() string { return o.Method + " " + o.Path + " (" + o.ID + ")" }

// public reports whether the operation can be called without a token: no
// requirement, or an empty one among them (optional authentication).
func (o specOperation) public() bool {
	return len(o.Effective) == 0 || slices.ContainsFunc(o.Effective, func(r map[string][]string) bool { return len(r) == 0 })
}

type openAPI struct {
	ops  []specOperation
	root map[string]any
}

func parseSpec(raw []byte) (*openAPI, error) {
	if len(raw) == 0 {
		return nil, errors.New("no OpenAPI document")
	}
	var doc struct {
		Security securityReqs                    `yaml:"security"`
		Paths    map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	spec := &openAPI{}
	if err := yaml.Unmarshal(raw, &spec.root); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths[path]
		var pathParams []any
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&pathParams); err != nil {
				return nil, fmt.Errorf("%s: parameters: %w", path, err)
			}
		}
		for _, method := range httpMethods {
			n, ok := item[method]
			if !ok {
				continue
			}
			var op struct {
				ID       string       `yaml:"operationId"`
				Security securityReqs `yaml:"security"`
			}
			if err := n.Decode(&op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			var node map[string]any
			if err := n.Decode(&node); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			so := specOperation{Path: path, Method: method, ID: op.ID, Security: op.Security, node: node, pathParams: pathParams}
			switch {
			case op.Security != nil:
				so.Effective = *op.Security
			case doc.Security != nil:
				so.Effective = *doc.Security
			}
			spec.ops = append(spec.ops, so)
		}
	}
	if len(spec.ops) == 0 {
		return nil, errors.New("the OpenAPI document has no operations")
	}
	return spec, nil
}

// checkDeviceLoginOnly: under /auth/, only the passkey ceremonies and the
// token exchange work without a token, and no operation takes a
// password-like input.
func checkDeviceLoginOnly(_ context.Context, env *Env) error {
	spec, err := parseSpec(env.Spec)
	if err != nil {
		return err
	}
	var ps problemList
	for _, op := range spec.ops {
		if strings.HasPrefix(op.Path, "/auth/") && op.public() && !slices.Contains(PasskeyOperations, op.ID) {
			ps.add("%s can be called without a token but is not a passkey ceremony or the token exchange", op)
		}
		for _, f := range spec.inputNames(op) {
			if credentialName(f) {
				ps.add("%s accepts %q: a password-like input", op, f)
			}
		}
	}
	return ps.err()
}

func credentialName(name string) bool {
	n := strings.ToLower(name)
	return slices.ContainsFunc(credentialFields, func(s string) bool { return strings.Contains(n, s) })
}

// inputNames returns the names of every parameter and request-body property
// (nested ones included) op accepts, sorted and deduplicated.
func (s *openAPI) inputNames(op specOperation) []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	params, _ := op.node["parameters"].([]any)
	for _, p := range slices.Concat(op.pathParams, params) {
		pm, _ := s.resolve(p, map[string]bool{}).(map[string]any)
		name, _ := pm["name"].(string)
		add(name)
		s.walkSchema(pm["schema"], add, map[string]bool{})
	}
	body, _ := s.resolve(op.node["requestBody"], map[string]bool{}).(map[string]any)
	content, _ := body["content"].(map[string]any)
	for _, media := range content {
		mm, _ := media.(map[string]any)
		s.walkSchema(mm["schema"], add, map[string]bool{})
	}
	sort.Strings(names)
	return names
}

// walkSchema calls add with every property name in schema, following
// references (once each, so recursive schemas end).
func (s *openAPI) walkSchema(schema any, add func(string), seen map[string]bool) {
	m, _ := s.resolve(schema, seen).(map[string]any)
	if m == nil {
		return
	}
	props, _ := m["properties"].(map[string]any)
	for name, sub := range props {
		add(name)
		s.walkSchema(sub, add, seen)
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := m[key].([]any)
		for _, sub := range list {
			s.walkSchema(sub, add, seen)
		}
	}
	for _, key := range []string{"items", "additionalProperties", "not"} {
		s.walkSchema(m[key], add, seen)
	}
}

// resolve follows a local $ref ("#/components/…"); a reference already in
// seen resolves to nil.
func (s *openAPI) resolve(v any, seen map[string]bool) any {
	for range 32 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		if seen[ref] || !strings.HasPrefix(ref, "#/") {
			return nil
		}
		seen[ref] = true
		var cur any = s.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		v = cur
	}
	return nil
}

// checkOperationsProtected: every operation either is public — security []
// or an empty requirement, and in the server's public list — or requires a
// bearer token with exactly one permission from the authz catalog. It is the
// contract test of internal/httpapi, run against the spec the binary serves.
func checkOperationsProtected(_ context.Context, env *Env) error {
	spec, err := parseSpec(env.Spec)
	if err != nil {
		return err
	}
	var ps problemList
	publicInSpec := map[string]bool{}
	for _, op := range spec.ops {
		listed := slices.Contains(env.PublicOperations, op.ID)
		if op.Security == nil {
			ps.add("%s does not declare its security", op)
			continue
		}
		reqs := *op.Security
		if len(reqs) == 0 {
			publicInSpec[op.ID] = true
			if !listed {
				ps.add("%s has security: [] but the server does not list it as public", op)
			}
			continue
		}
		if i := slices.IndexFunc(reqs, func(r map[string][]string) bool { return len(r) == 0 }); i >= 0 {
			publicInSpec[op.ID] = true
			if !listed {
				ps.add("%s may be called without a token but the server does not list it as public", op)
			}
			reqs = slices.Delete(slices.Clone(reqs), i, i+1)
		} else if listed {
			ps.add("%s is listed as public by the server but requires a token in the spec", op)
		}
		if len(reqs) != 1 {
			ps.add("%s has %d security requirements besides the optional one; want exactly one", op, len(reqs))
			continue
		}
		scopes, ok := reqs[0]["bearerAuth"]
		switch {
		case !ok || len(reqs[0]) != 1:
			ps.add("%s must be protected by bearerAuth alone", op)
		case len(scopes) != 1:
			ps.add("%s names %d permissions; want exactly one", op, len(scopes))
		case !authz.Known(scopes[0]):
			ps.add("%s requires permission %q, which is not in the authz catalog", op, scopes[0])
		}
	}
	for _, id := range env.PublicOperations {
		if !publicInSpec[id] {
			ps.add("the server lists %s as public but the spec has no such public operation", id)
		}
	}
	return ps.err()
}
