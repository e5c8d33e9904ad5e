package httpapi_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/authz"
)

// requireMissing asserts a 403 whose detail names every permission in want.
func requireMissing(t *testing.T, err error, want ...string) {
	t.Helper()
	requireStatus(t, err, 403)
	var se *api.ErrorStatusCode
	require.True(t, errors.As(err, &se))
	for _, p := range want {
		require.Contains(t, se.Response.Detail.Or(""), p)
	}
}

// TestDelegation: nobody grants, assigns, invites with, creates or edits a
// role carrying a permission they do not hold (the outside tester's
// escalations, each 2xx before the fix).
func TestDelegation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, env, tn := bu.ctx, bu.env, bu.tenantA
		own := env.Role(tn, authz.RoleManage, authz.RoleRead)
		roler := env.Member(tn, own)
		patch := func(c *api.Client, id uuid.UUID, perms ...string) error {
			_, err := c.UpdateRole(ctx, &api.RoleUpdate{Permissions: perms}, api.UpdateRoleParams{RoleId: id})
			return err
		}

		t.Run("ErrEditOwnRole", func(t *testing.T) {
			for _, p := range []string{authz.TenantManage, authz.AuditRead, authz.MemberManage, "*"} {
				requireStatus(t, patch(roler.Client, own, authz.RoleManage, authz.RoleRead, p), 403)
			}
			// Not even within what they hold: a role one holds is changed by
			// someone else.
			requireStatus(t, patch(roler.Client, own, authz.RoleRead), 403)
		})
		t.Run("ErrCreateBeyond", func(t *testing.T) {
			_, err := roler.Client.CreateRole(ctx, &api.RoleCreate{Name: "auditors", Permissions: []string{authz.AuditRead, authz.RoleRead}})
			requireMissing(t, err, authz.AuditRead)
			_, err = roler.Client.CreateRole(ctx, &api.RoleCreate{Name: "roles", Permissions: []string{"role.*"}})
			require.NoError(t, err, "role.* expands to what the caller holds")
		})
		t.Run("ErrEditOtherBeyond", func(t *testing.T) {
			other := env.Role(tn, authz.RoleRead)
			requireMissing(t, patch(roler.Client, other, authz.RoleRead, "member.*"), authz.MemberManage, authz.MemberRead)
			require.NoError(t, patch(roler.Client, other, authz.RoleRead, authz.RoleManage))
			// A role already carrying more than the editor holds is not
			// theirs to touch, even by name.
			richer := env.Role(tn, authz.AuditRead)
			_, err := roler.Client.UpdateRole(ctx, &api.RoleUpdate{Name: api.NewOptString("renamed")}, api.UpdateRoleParams{RoleId: richer})
			requireMissing(t, err, authz.AuditRead)
		})
		t.Run("ErrReassignBeyond", func(t *testing.T) {
			doomed := env.Role(tn, authz.RoleRead)
			env.Member(tn, doomed)
			err := roler.Client.DeleteRole(ctx, api.DeleteRoleParams{RoleId: doomed, ReassignTo: api.NewOptUUID(authz.RoleAdminID)})
			requireStatus(t, err, 403)
			within := env.Role(tn, authz.RoleRead)
			require.NoError(t, roler.Client.DeleteRole(ctx, api.DeleteRoleParams{RoleId: doomed, ReassignTo: api.NewOptUUID(within)}))
		})

		manager := env.Member(tn, env.Role(tn, authz.MemberManage, authz.MemberRead))
		t.Run("ErrAssignSelfAdmin", func(t *testing.T) {
			_, err := manager.Client.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{authz.RoleAdminID}},
				api.SetMemberRolesParams{UserId: manager.UserID})
			requireMissing(t, err, authz.TenantManage, authz.AuditRead)
			me, err := manager.Client.GetMe(ctx)
			require.NoError(t, err)
			require.NotContains(t, me.Permissions, authz.TenantManage)
		})
		t.Run("ErrDemoteSuperior", func(t *testing.T) {
			_, err := manager.Client.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{authz.RoleViewerID}},
				api.SetMemberRolesParams{UserId: bu.a.UserID})
			requireStatus(t, err, 403)
		})
		t.Run("ErrInviteAdmin", func(t *testing.T) {
			_, err := manager.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(authz.RoleAdminID)})
			requireMissing(t, err, authz.TenantManage)
			// No role named means the member role, which carries more than
			// this manager holds too.
			_, err = manager.Client.CreateInvitation(ctx, &api.InvitationCreate{})
			requireMissing(t, err, authz.ConversationCreate)
		})
		t.Run("OK", func(t *testing.T) {
			readers := env.Role(tn, authz.MemberRead)
			_, err := manager.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(readers)})
			require.NoError(t, err)
			u := env.Member(tn)
			m, err := manager.Client.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{readers}}, api.SetMemberRolesParams{UserId: u.UserID})
			require.NoError(t, err)
			require.Equal(t, []uuid.UUID{readers}, m.RoleIds)
			// The admin holds everything and may grant anything.
			_, err = bu.a.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(authz.RoleAdminID)})
			require.NoError(t, err)
		})
	})
}
