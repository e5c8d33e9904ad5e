package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/memberrole"
	"atrium/ent/role"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// Audit actions of roles.
const (
	ActionRoleCreated = "role.created"
	ActionRoleUpdated = "role.updated"
	ActionRoleDeleted = "role.deleted"
)

// RoleInfo is a role and how many members of the viewer's tenant hold it.
type RoleInfo struct {
	Role    *ent.Role
	Members int
}

// RoleInput creates a custom role.
type RoleInput struct {
	Name        string
	Description string
	Permissions []string
}

// RoleUpdate changes a custom role; nil fields stay.
type RoleUpdate struct {
	Name        *string
	Description *string
	Permissions *[]string
}

// Group is the catalog of one resource.
type Group struct {
	Resource    string
	Permissions []Definition
}

// Groups returns the catalog grouped by resource, in catalog order.
func Groups() []Group {
	var out []Group
	for _, d := range Catalog {
		res := d.Name[:strings.IndexByte(d.Name, '.')]
		if len(out) == 0 || out[len(out)-1].Resource != res {
			out = append(out, Group{Resource: res})
		}
		out[len(out)-1].Permissions = append(out[len(out)-1].Permissions, d)
	}
	return out
}

// Roles manages system and custom roles.
type Roles struct {
	client   *ent.Client
	resolver *Resolver
	audit    *audit.Writer
}

// NewRoles returns the role service.
func NewRoles(client *ent.Client, r *Resolver, w *audit.Writer) *Roles {
	return &Roles{client: client, resolver: r, audit: w}
}

func checkRole(name *string, desc *string, perms *[]string) error {
	var fs []fault.FieldError
	if name != nil {
		n := strings.TrimSpace(*name)
		switch {
		case n == "" || utf8.RuneCountInString(n) > 100:
			fs = append(fs, fault.FieldError{Field: "name", Message: "1 to 100 characters"})
		case slices.ContainsFunc(SystemRoles, func(r SystemRole) bool { return strings.EqualFold(r.Name, n) }):
			fs = append(fs, fault.FieldError{Field: "name", Message: "is the name of a system role"})
		}
	}
	if desc != nil && utf8.RuneCountInString(*desc) > 1000 {
		fs = append(fs, fault.FieldError{Field: "description", Message: "at most 1000 characters"})
	}
	if perms != nil {
		for _, g := range *perms {
			if !ValidGrant(g) {
				fs = append(fs, fault.FieldError{Field: "permissions", Message: fmt.Sprintf("%q is not a permission, resource.* or *", g)})
			}
		}
	}
	return fault.Fields(fs...)
}

// List returns the system roles and the tenant's custom roles.
func (r *Roles) List(ctx context.Context) ([]RoleInfo, error) {
	roles, err := r.client.Role.Query().Order(ent.Desc(role.FieldSystem), ent.Asc(role.FieldName)).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "role")
	}
	counts, err := r.counts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RoleInfo, 0, len(roles))
	for _, ro := range roles {
		out = append(out, RoleInfo{ro, counts[ro.ID]})
	}
	return out, nil
}

func (r *Roles) counts(ctx context.Context) (map[uuid.UUID]int, error) {
	var rows []struct {
		RoleID uuid.UUID `json:"role_id"`
		Count  int       `json:"count"`
	}
	if err := r.client.MemberRole.Query().GroupBy(memberrole.FieldRoleID).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return nil, fault.FromEnt(err, "role")
	}
	out := make(map[uuid.UUID]int, len(rows))
	for _, row := range rows {
		out[row.RoleID] = row.Count
	}
	return out, nil
}

// Get returns one role.
func (r *Roles) Get(ctx context.Context, id uuid.UUID) (RoleInfo, error) {
	ro, err := r.client.Role.Get(ctx, id)
	if err != nil {
		return RoleInfo{}, fault.FromEnt(err, "role")
	}
	n, err := r.client.MemberRole.Query().Where(memberrole.RoleID(id)).Count(ctx)
	return RoleInfo{ro, n}, fault.FromEnt(err, "role")
}

// Create creates a custom role in the viewer's tenant.
func (r *Roles) Create(ctx context.Context, in RoleInput) (RoleInfo, error) {
	if err := checkRole(&in.Name, &in.Description, &in.Permissions); err != nil {
		return RoleInfo{}, err
	}
	if err := RequireGrantable(ctx, "creating this role", in.Permissions); err != nil {
		return RoleInfo{}, err
	}
	var ro *ent.Role
	err := r.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		v := viewer.FromContext(ctx)
		var err error
		ro, err = tx.Role.Create().SetTenantID(v.TenantID).SetName(strings.TrimSpace(in.Name)).
			SetDescription(in.Description).SetPermissions(dedupe(in.Permissions)).Save(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionRoleCreated, ResourceType: "role", ResourceID: ro.ID}, nil
	})
	if err != nil {
		return RoleInfo{}, fault.FromEnt(err, "role")
	}
	return RoleInfo{Role: ro}, nil
}

var errSystemRole = fault.New(fault.Forbidden, "system roles are read-only")

// Update changes a custom role; every holder's permissions change on their
// next request, on every instance.
func (r *Roles) Update(ctx context.Context, id uuid.UUID, in RoleUpdate) (RoleInfo, error) {
	if err := checkRole(in.Name, in.Description, in.Permissions); err != nil {
		return RoleInfo{}, err
	}
	err := r.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		ro, err := tx.Role.Get(ctx, id)
		if err != nil {
			return audit.Event{}, err
		}
		if ro.System {
			return audit.Event{}, errSystemRole
		}
		if err := requireNotHeld(ctx, tx, id); err != nil {
			return audit.Event{}, err
		}
		// The role as it will be must carry nothing the editor lacks, also
		// when only its name changes.
		perms := ro.Permissions
		if in.Permissions != nil {
			perms = *in.Permissions
		}
		if err := RequireGrantable(ctx, "changing this role", perms); err != nil {
			return audit.Event{}, err
		}
		u := tx.Role.UpdateOne(ro)
		if in.Name != nil {
			u.SetName(strings.TrimSpace(*in.Name))
		}
		if in.Description != nil {
			u.SetDescription(*in.Description)
		}
		if in.Permissions != nil {
			u.SetPermissions(dedupe(*in.Permissions))
		}
		if err := u.Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		r.resolver.InvalidateOnCommit(ctx, tx, viewer.FromContext(ctx).TenantID, uuid.Nil)
		return audit.Event{Action: ActionRoleUpdated, ResourceType: "role", ResourceID: id}, nil
	})
	if err != nil {
		return RoleInfo{}, fault.FromEnt(err, "role")
	}
	return r.Get(ctx, id)
}

// Delete deletes a custom role. A role that members hold is deleted only with
// reassignTo, the role they get instead.
func (r *Roles) Delete(ctx context.Context, id uuid.UUID, reassignTo *uuid.UUID) error {
	err := r.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		ro, err := tx.Role.Get(ctx, id)
		if err != nil {
			return audit.Event{}, err
		}
		if ro.System {
			return audit.Event{}, errSystemRole
		}
		holders, err := tx.MemberRole.Query().Where(memberrole.RoleID(id)).All(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		details := map[string]string{"members": fmt.Sprint(len(holders))}
		if len(holders) > 0 {
			if reassignTo == nil {
				return audit.Event{}, fault.New(fault.Conflict, "%d member(s) hold this role: pass reassign_to with the role they get instead", len(holders))
			}
			if *reassignTo == id {
				return audit.Event{}, fault.Fields(fault.FieldError{Field: "reassign_to", Message: "must be another role"})
			}
			to, err := tx.Role.Query().Where(role.ID(*reassignTo)).Only(ctx)
			if err != nil {
				return audit.Event{}, fault.New(fault.NotFound, "role to reassign to not found")
			}
			if err := RequireGrantable(ctx, "reassigning the members to this role", to.Permissions); err != nil {
				return audit.Event{}, err
			}
			for _, h := range holders {
				has, err := tx.MemberRole.Query().Where(memberrole.UserID(h.UserID), memberrole.RoleID(*reassignTo)).Exist(ctx)
				if err != nil {
					return audit.Event{}, err
				}
				if !has {
					if err := tx.MemberRole.Create().SetUserID(h.UserID).SetRoleID(*reassignTo).Exec(ctx); err != nil {
						return audit.Event{}, err
					}
				}
			}
			details["reassigned_to"] = reassignTo.String()
		}
		if _, err := tx.MemberRole.Delete().Where(memberrole.RoleID(id)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if err := tx.Role.DeleteOne(ro).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		r.resolver.InvalidateOnCommit(ctx, tx, viewer.FromContext(ctx).TenantID, uuid.Nil)
		return audit.Event{Action: ActionRoleDeleted, ResourceType: "role", ResourceID: id, Details: details}, nil
	})
	return fault.FromEnt(err, "role")
}

var errOwnRole = fault.New(fault.Forbidden, "you hold this role: another member who manages roles must change it")

// requireNotHeld refuses an edit of a role the viewer holds: whoever could
// change the role they hold would grant themselves what it adds.
func requireNotHeld(ctx context.Context, tx *ent.Tx, id uuid.UUID) error {
	v := viewer.FromContext(ctx)
	if v.IsSystem() || v == nil {
		return nil
	}
	held, err := tx.MemberRole.Query().Where(memberrole.UserID(v.UserID), memberrole.RoleID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if held {
		return errOwnRole
	}
	return nil
}

// Grants returns the grants of the roles with ids that the viewer can see
// (the system roles and the tenant's custom roles), and whether every id was
// found.
func Grants(ctx context.Context, roles *ent.RoleClient, ids ...uuid.UUID) ([]string, bool, error) {
	rs, err := roles.Query().Where(role.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, false, err
	}
	var grants []string
	for _, r := range rs {
		grants = append(grants, r.Permissions...)
	}
	return grants, len(rs) == len(uniqueIDs(ids)), nil
}

// MemberGrants returns the grants of every role user holds in tenant.
func MemberGrants(ctx context.Context, roles *ent.RoleClient, tenant, user uuid.UUID) ([]string, error) {
	rs, err := roles.Query().Where(role.HasMemberRolesWith(memberrole.TenantID(tenant), memberrole.UserID(user))).
		Select(role.FieldPermissions).All(ctx)
	if err != nil {
		return nil, err
	}
	var grants []string
	for _, r := range rs {
		grants = append(grants, r.Permissions...)
	}
	return grants, nil
}

func uniqueIDs(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return slices.Compact(out)
}

func dedupe(ps []string) []string {
	out := slices.Clone(ps)
	slices.Sort(out)
	return slices.Compact(out)
}
