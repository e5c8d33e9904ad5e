package authz

import (
	"strings"

	"github.com/google/uuid"
)

// Set is a compiled set of grants answering Allows without allocating, and
// the teams the member belongs to (for resource sharing).
type Set struct {
	all       bool
	exact     map[string]struct{}
	resources map[string]struct{} // "conversation" for "conversation.*"
	teams     []uuid.UUID
}

// WithTeams returns s knowing the member's teams.
func (s *Set) WithTeams(teams []uuid.UUID) *Set {
	s.teams = teams
	return s
}

// Teams are the teams the member belongs to.
func (s *Set) Teams() []uuid.UUID {
	if s == nil {
		return nil
	}
	return s.teams
}

// NewSet compiles grants (catalog names, "resource.*" or "*").
func NewSet(grants ...string) *Set {
	s := &Set{exact: map[string]struct{}{}, resources: map[string]struct{}{}}
	for _, g := range grants {
		switch {
		case g == "*":
			s.all = true
		case strings.HasSuffix(g, ".*"):
			s.resources[strings.TrimSuffix(g, ".*")] = struct{}{}
		default:
			s.exact[g] = struct{}{}
		}
	}
	return s
}

// Allows reports whether the set grants permission p.
func (s *Set) Allows(p string) bool {
	if s == nil {
		return false
	}
	if s.all {
		return true
	}
	if _, ok := s.exact[p]; ok {
		return true
	}
	if i := strings.IndexByte(p, '.'); i > 0 {
		_, ok := s.resources[p[:i]]
		return ok
	}
	return false
}

// List returns the catalog permissions the set grants, in catalog order.
func (s *Set) List() []string {
	var out []string
	for _, d := range Catalog {
		if s.Allows(d.Name) {
			out = append(out, d.Name)
		}
	}
	return out
}
