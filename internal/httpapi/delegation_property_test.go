package httpapi_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
)

// TestDelegationProperty: for random role sets and random grant attempts by
// random members through the API (create, edit and delete-with-reassign
// roles, set members' roles, invite), nobody's effective permissions ever
// exceed the union of what the callers held at the start. Permissions held
// only by roles nobody of them holds (admin, an "auditors" role) are out of
// their reach whatever they try.
func TestDelegationProperty(t *testing.T) {
	t.Parallel()
	// What the callers may start with, and every grant they may attempt.
	pool := []string{authz.RoleManage, authz.RoleRead, authz.MemberManage, authz.MemberRead,
		authz.ConversationRead, authz.DocumentRead, authz.TeamRead}
	attempts := append(slices.Clone(pool), "*", "role.*", "member.*", "audit.*", authz.AuditRead, authz.TenantManage,
		authz.ConversationCreate, "document.*")
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, env, tn := bu.ctx, bu.env, bu.tenantA
		for seed := uint64(1); seed <= 3; seed++ {
			rng := rand.New(rand.NewPCG(seed, 10))
			pick := func(from []string, n int) []string {
				out := make([]string, 0, n)
				for range n {
					out = append(out, from[rng.IntN(len(from))])
				}
				return out
			}
			roles := []uuid.UUID{authz.RoleAdminID, authz.RoleMemberID, authz.RoleViewerID, env.Role(tn, authz.AuditRead, authz.TenantManage)}
			var callers []*apptest.Member
			var held []string
			for range 4 {
				grants := append(pick(pool, 1+rng.IntN(3)), []string{authz.RoleManage, authz.MemberManage}[rng.IntN(2)])
				r := env.Role(tn, grants...)
				roles = append(roles, r)
				callers = append(callers, env.Member(tn, r))
				held = append(held, grants...)
			}
			union := authz.NewSet(append(held, authz.Implicit...)...)

			for step := range 60 {
				c := callers[rng.IntN(len(callers))]
				anyRole := func() uuid.UUID { return roles[rng.IntN(len(roles))] }
				var err error
				switch op := rng.IntN(5); op {
				case 0:
					var r *api.Role
					r, err = c.Client.CreateRole(ctx, &api.RoleCreate{Name: uuid.NewString(), Permissions: pick(attempts, 1+rng.IntN(3))})
					if err == nil {
						roles = append(roles, r.ID)
					}
				case 1:
					_, err = c.Client.UpdateRole(ctx, &api.RoleUpdate{Permissions: pick(attempts, 1+rng.IntN(3))}, api.UpdateRoleParams{RoleId: anyRole()})
				case 2:
					target := callers[rng.IntN(len(callers))]
					_, err = c.Client.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{anyRole(), anyRole()}},
						api.SetMemberRolesParams{UserId: target.UserID})
				case 3:
					err = c.Client.DeleteRole(ctx, api.DeleteRoleParams{RoleId: anyRole(), ReassignTo: api.NewOptUUID(anyRole())})
				case 4:
					id := anyRole()
					if _, err = c.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(id)}); err == nil {
						r, gerr := bu.a.Client.GetRole(ctx, api.GetRoleParams{RoleId: id})
						require.NoError(t, gerr)
						require.Empty(t, authz.CanGrant(union, r.Permissions), "seed %d step %d: invitation with role %v", seed, step, r.Permissions)
					}
				}
				var se *api.ErrorStatusCode
				if err != nil {
					require.True(t, errors.As(err, &se), "seed %d step %d: %v", seed, step, err)
					require.Less(t, se.StatusCode, 500, "seed %d step %d: %+v", seed, step, se.Response)
				}
				for _, who := range callers {
					me, err := who.Client.GetMe(ctx)
					if err != nil { // removed from the tenant or signed out: holds nothing here
						continue
					}
					require.Empty(t, authz.CanGrant(union, me.Permissions), "seed %d step %d: member holds %v beyond the callers' union %v",
						seed, step, me.Permissions, union.List())
				}
			}
		}
	})
}
