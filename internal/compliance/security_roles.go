package compliance

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"atrium/ent/memberrole"
	"atrium/ent/membership"
	"atrium/ent/role"
	"atrium/internal/authz"
	"atrium/internal/viewer"
)

// checkRoleDelegation: every custom role carries only permissions that the
// member who last created or changed it held, through their other roles, in
// the role's tenant (the delegation rule of docs/authorization.md). The
// services enforce the rule on every write; this finds roles written before
// it, or behind the services' back. A role whose last editor is gone or was
// the system is fixed by having an administrator save it again.
func checkRoleDelegation(ctx context.Context, env *Env) error {
	sys := viewer.System(ctx, viewer.ReasonCompliance)
	roles, err := env.Client.Role.Query().Where(role.System(false), role.TenantIDNotNil()).All(sys)
	if err != nil {
		return fmt.Errorf("list roles: %w", err)
	}
	var problems problemList
	for _, r := range roles {
		editor := r.UpdatedBy
		if editor == uuid.Nil {
			editor = r.CreatedBy
		}
		if editor == uuid.Nil {
			continue // written by the system (migration, seed, command line)
		}
		member, err := env.Client.Membership.Query().
			Where(membership.TenantID(*r.TenantID), membership.UserID(editor)).Exist(sys)
		if err != nil {
			return fmt.Errorf("membership of role editor: %w", err)
		}
		var grants []string
		if member {
			// The editor's other roles: holding the role itself justifies
			// nothing it carries.
			held, err := env.Client.Role.Query().Where(role.IDNEQ(r.ID), role.HasMemberRolesWith(
				memberrole.TenantID(*r.TenantID), memberrole.UserID(editor))).All(sys)
			if err != nil {
				return fmt.Errorf("roles of role editor: %w", err)
			}
			grants = append(grants, authz.Implicit...)
			for _, h := range held {
				grants = append(grants, h.Permissions...)
			}
		}
		if missing := authz.CanGrant(authz.NewSet(grants...), r.Permissions); len(missing) > 0 {
			problems.add("role %s (tenant %s) grants %s beyond what its last editor %s holds", r.ID, *r.TenantID,
				strings.Join(missing, ", "), editor)
		}
	}
	return problems.err()
}
