package authz

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// MaxChecks bounds one batch.
const MaxChecks = 1000

// CheckItem asks whether the viewer holds a permission, optionally on one
// resource.
type CheckItem struct {
	Permission   string
	ResourceType ResourceType // "" for no resource
	ResourceID   uuid.UUID
}

// CheckResult answers one CheckItem.
type CheckResult struct {
	Allowed bool
	Reason  string
}

// levelFor is the access level a permission's action needs on a resource.
func levelFor(p string) Level {
	switch p[strings.LastIndexByte(p, '.')+1:] {
	case "read":
		return Viewer
	case "delete", "share", "manage":
		return Owner
	default: // update, create (of children, e.g. messages)
		return Editor
	}
}

// Check answers a batch of checks for the viewer, as the API would decide
// the same requests: the permission first, then the resource rule. Resource
// lookups are grouped: one owner query and one share query per resource
// type, whatever the batch size.
func (a *Access) Check(ctx context.Context, items []CheckItem) ([]CheckResult, error) {
	if len(items) > MaxChecks {
		return nil, fault.Fields(fault.FieldError{Field: "checks", Message: "at most 1000 checks"})
	}
	v := viewer.FromContext(ctx)
	out := make([]CheckResult, len(items))
	want := map[ResourceType][]uuid.UUID{}
	for i, it := range items {
		switch {
		case !Known(it.Permission):
			out[i] = CheckResult{false, ReasonUnknownPerm}
		case !v.Allows(it.Permission):
			out[i] = CheckResult{false, ReasonMissingPerm}
		case it.ResourceType == "":
			out[i] = CheckResult{true, ReasonRole}
		default:
			if _, ok := a.kinds[it.ResourceType]; !ok {
				out[i] = CheckResult{false, ReasonUnknownInput}
				continue
			}
			want[it.ResourceType] = append(want[it.ResourceType], it.ResourceID)
		}
	}
	for rt, ids := range want {
		ds, err := a.Decide(ctx, rt, ids)
		if err != nil {
			return nil, err
		}
		for i, it := range items {
			if it.ResourceType != rt || out[i].Reason != "" {
				continue
			}
			d := ds[it.ResourceID]
			switch {
			case d.Level == None:
				out[i] = CheckResult{false, ReasonNotVisible}
			case d.Level < levelFor(it.Permission):
				out[i] = CheckResult{false, ReasonLowLevel}
			default:
				out[i] = CheckResult{true, d.Reason}
			}
		}
	}
	return out, nil
}
