package authz

import (
	"context"
	"strings"

	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// Holder is anything that answers whether it holds a permission: a *Set, a
// *viewer.Viewer.
type Holder interface {
	Allows(permission string) bool
}

// Expand returns the catalog permissions that grants carry, wildcards
// expanded against the catalog, in catalog order. Entries that are not
// grants are ignored.
func Expand(grants ...string) []Permission {
	return NewSet(grants...).List()
}

// CanGrant is the delegation rule, the one place it is decided: a caller may
// put grants into the hands of someone (create or edit a role carrying them,
// assign a role carrying them, invite with such a role) only if the caller
// holds every permission the grants carry. It returns the permissions the
// caller lacks, in catalog order; none means the grant is allowed.
// Wildcards are expanded against the catalog first, so "document.*" asks for
// every document permission and "*" for the whole catalog.
func CanGrant(caller Holder, grants []string) (missing []Permission) {
	for _, p := range Expand(grants...) {
		if caller == nil || !caller.Allows(p) {
			missing = append(missing, p)
		}
	}
	return missing
}

// RequireGrantable answers whether the viewer in ctx may grant grants (see
// CanGrant), as a Forbidden error naming the missing permissions. The system
// viewer may grant anything.
func RequireGrantable(ctx context.Context, what string, grants []string) error {
	v := viewer.FromContext(ctx)
	if v.IsSystem() {
		return nil
	}
	var holder Holder
	if v != nil {
		holder = v
	}
	if missing := CanGrant(holder, grants); len(missing) > 0 {
		return fault.New(fault.Forbidden, "%s needs permissions you do not hold: %s", what, strings.Join(missing, ", "))
	}
	return nil
}
