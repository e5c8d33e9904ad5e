package httpapi_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/authz"
)

// TestResourceRule runs the role/grant/team/share matrix through the API.
func TestResourceRule(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, env := bu.ctx, bu.env
		owner := env.Member(bu.tenantA, authz.RoleMemberID)
		conv, err := owner.Client.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("plans")})
		require.NoError(t, err)
		id := conv.ID
		get := func(c *api.Client) error {
			_, err := c.GetConversation(ctx, api.GetConversationParams{ConversationId: id})
			return err
		}
		update := func(c *api.Client) error {
			_, err := c.UpdateConversation(ctx, &api.ConversationUpdate{Title: api.NewOptString("x")}, api.UpdateConversationParams{ConversationId: id})
			return err
		}
		appendMsg := func(c *api.Client) error {
			_, err := c.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hi"}, api.AppendMessageParams{ConversationId: id})
			return err
		}
		share := func(subjectType api.ShareSubjectType, subject uuid.UUID, level api.ShareLevel) *api.Share {
			s, err := owner.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: subjectType, SubjectID: subject, Level: level},
				api.ShareConversationParams{ConversationId: id})
			require.NoError(t, err)
			return s
		}
		listed := func(c *api.Client) bool {
			p, err := c.ListConversations(ctx, api.ListConversationsParams{Limit: api.NewOptInt(100)})
			require.NoError(t, err)
			for _, c := range p.Items {
				if c.ID == id {
					return true
				}
			}
			return false
		}

		u := env.Member(bu.tenantA, authz.RoleMemberID)
		t.Run("ErrNotSharedIsNotFound", func(t *testing.T) {
			requireStatus(t, get(u.Client), 404)
			requireStatus(t, update(u.Client), 404)
			require.False(t, listed(u.Client))
		})
		t.Run("OK/DirectViewer", func(t *testing.T) {
			share(api.ShareSubjectTypeUser, u.UserID, api.ShareLevelViewer)
			require.NoError(t, get(u.Client))
			require.True(t, listed(u.Client))
			requireStatus(t, update(u.Client), 403)
			requireStatus(t, appendMsg(u.Client), 403)
		})
		t.Run("OK/UpgradeToEditor", func(t *testing.T) {
			share(api.ShareSubjectTypeUser, u.UserID, api.ShareLevelEditor)
			require.NoError(t, update(u.Client))
			require.NoError(t, appendMsg(u.Client))
			err := u.Client.DeleteConversation(ctx, api.DeleteConversationParams{ConversationId: id})
			requireStatus(t, err, 403)
			_, err = u.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: u.UserID, Level: api.ShareLevelOwner},
				api.ShareConversationParams{ConversationId: id})
			requireStatus(t, err, 403) // an editor cannot raise their own level
		})
		t.Run("OK/RevokeTakesEffectNextRequest", func(t *testing.T) {
			shares, err := owner.Client.ListConversationShares(ctx, api.ListConversationSharesParams{ConversationId: id})
			require.NoError(t, err)
			require.Len(t, shares.Items, 1)
			require.NoError(t, owner.Client.RevokeConversationShare(ctx, api.RevokeConversationShareParams{ConversationId: id, ShareId: shares.Items[0].ID}))
			requireStatus(t, get(u.Client), 404)
		})

		// Teams (managed by tenant A's admin).
		admin := bu.a
		tm, err := admin.Client.CreateTeam(ctx, &api.TeamCreate{Name: "research"})
		require.NoError(t, err)
		w := env.Member(bu.tenantA, authz.RoleMemberID)
		t.Run("OK/TeamShare", func(t *testing.T) {
			require.NoError(t, admin.Client.AddTeamMember(ctx, api.AddTeamMemberParams{TeamId: tm.ID, UserId: w.UserID}))
			share(api.ShareSubjectTypeTeam, tm.ID, api.ShareLevelEditor)
			require.NoError(t, get(w.Client))
			require.NoError(t, update(w.Client))
			require.True(t, listed(w.Client))
		})
		t.Run("ErrRemovedTeamMember", func(t *testing.T) {
			require.NoError(t, admin.Client.RemoveTeamMember(ctx, api.RemoveTeamMemberParams{TeamId: tm.ID, UserId: w.UserID}))
			requireStatus(t, get(w.Client), 404)
			require.False(t, listed(w.Client))
		})
		t.Run("ErrTeamOfAnotherTenant", func(t *testing.T) {
			other, err := bu.b.Client.CreateTeam(ctx, &api.TeamCreate{Name: "outsiders"})
			require.NoError(t, err)
			_, err = owner.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeTeam, SubjectID: other.ID, Level: api.ShareLevelOwner},
				api.ShareConversationParams{ConversationId: id})
			requireStatus(t, err, 404)
			_, err = owner.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: bu.b.UserID, Level: api.ShareLevelOwner},
				api.ShareConversationParams{ConversationId: id})
			requireStatus(t, err, 404)
		})

		// Roles: manage permission and wildcards.
		t.Run("OK/AdminManagesEverything", func(t *testing.T) {
			require.NoError(t, get(admin.Client))
			require.True(t, listed(admin.Client))
		})
		t.Run("OK/WildcardCustomRoleManages", func(t *testing.T) {
			r, err := admin.Client.CreateRole(ctx, &api.RoleCreate{Name: "curator", Permissions: []string{"conversation.*"}})
			require.NoError(t, err)
			c := env.Member(bu.tenantA, r.ID)
			require.NoError(t, get(c.Client))
			require.NoError(t, update(c.Client))
		})
		t.Run("ErrReadOnlyCustomRole", func(t *testing.T) {
			r, err := admin.Client.CreateRole(ctx, &api.RoleCreate{Name: "reader", Permissions: []string{"conversation.read"}})
			require.NoError(t, err)
			c := env.Member(bu.tenantA, r.ID)
			requireStatus(t, get(c.Client), 404)
			_, err = c.Client.CreateConversation(ctx, &api.ConversationCreate{})
			requireStatus(t, err, 403)
		})
		t.Run("OK/RoleEditTakesEffectNextRequest", func(t *testing.T) {
			r, err := admin.Client.CreateRole(ctx, &api.RoleCreate{Name: "writer", Permissions: []string{"conversation.create"}})
			require.NoError(t, err)
			c := env.Member(bu.tenantA, r.ID)
			_, err = c.Client.CreateConversation(ctx, &api.ConversationCreate{})
			require.NoError(t, err)
			_, err = admin.Client.UpdateRole(ctx, &api.RoleUpdate{Permissions: []string{"conversation.read"}}, api.UpdateRoleParams{RoleId: r.ID})
			require.NoError(t, err)
			_, err = c.Client.CreateConversation(ctx, &api.ConversationCreate{})
			requireStatus(t, err, 403)
		})
		t.Run("BatchCheck", func(t *testing.T) {
			share(api.ShareSubjectTypeUser, u.UserID, api.ShareLevelViewer)
			res, err := u.Client.CheckPermissions(ctx, &api.CheckRequest{Checks: []api.CheckRequestChecksItem{
				{Permission: "conversation.read"},
				{Permission: "audit.read"},
				{Permission: "conversation.read", ResourceType: api.NewOptResourceType(api.ResourceTypeConversation), ResourceID: api.NewOptUUID(id)},
				{Permission: "conversation.update", ResourceType: api.NewOptResourceType(api.ResourceTypeConversation), ResourceID: api.NewOptUUID(id)},
				{Permission: "conversation.read", ResourceType: api.NewOptResourceType(api.ResourceTypeConversation), ResourceID: api.NewOptUUID(bu.convA.ID)},
				{Permission: "no.such"},
			}})
			require.NoError(t, err)
			want := []authzResult{{true, "role"}, {false, "missing_permission"}, {true, "shared_user"},
				{false, "insufficient_level"}, {false, "not_visible"}, {false, "unknown_permission"}}
			for i, r := range res.Results {
				require.Equal(t, want[i], authzResult{r.Allowed, r.Reason}, "check %d", i)
			}
		})
	})
}

type authzResult struct {
	Allowed bool
	Reason  string
}

// TestRolesAndMembers: the management rules that must hold.
func TestRolesAndMembers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, admin := bu.ctx, bu.a.Client
		t.Run("ErrInvalidGrant", func(t *testing.T) {
			_, err := admin.CreateRole(ctx, &api.RoleCreate{Name: "bad", Permissions: []string{"conversation.fly", "nothing.*"}})
			requireStatus(t, err, 400)
		})
		t.Run("ErrSystemRoleReadOnly", func(t *testing.T) {
			_, err := admin.UpdateRole(ctx, &api.RoleUpdate{Permissions: []string{"*"}}, api.UpdateRoleParams{RoleId: authz.RoleViewerID})
			requireStatus(t, err, 403)
			err = admin.DeleteRole(ctx, api.DeleteRoleParams{RoleId: authz.RoleViewerID})
			requireStatus(t, err, 403)
		})
		t.Run("ErrOtherTenantsRole", func(t *testing.T) {
			r, err := bu.b.Client.CreateRole(ctx, &api.RoleCreate{Name: "theirs", Permissions: []string{"*"}})
			require.NoError(t, err)
			_, err = admin.GetRole(ctx, api.GetRoleParams{RoleId: r.ID})
			requireStatus(t, err, 404)
			_, err = admin.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{r.ID}}, api.SetMemberRolesParams{UserId: bu.a.UserID})
			requireStatus(t, err, 404)
		})
		t.Run("ErrRoleInUseNeedsReassign", func(t *testing.T) {
			r, err := admin.CreateRole(ctx, &api.RoleCreate{Name: "temp", Permissions: []string{"conversation.read"}})
			require.NoError(t, err)
			m := bu.env.Member(bu.tenantA, r.ID)
			requireStatus(t, admin.DeleteRole(ctx, api.DeleteRoleParams{RoleId: r.ID}), 409)
			require.NoError(t, admin.DeleteRole(ctx, api.DeleteRoleParams{RoleId: r.ID, ReassignTo: api.NewOptUUID(authz.RoleViewerID)}))
			got, err := admin.GetMember(ctx, api.GetMemberParams{UserId: m.UserID})
			require.NoError(t, err)
			require.Equal(t, []uuid.UUID{authz.RoleViewerID}, got.RoleIds)
		})
		t.Run("ErrLastAdmin", func(t *testing.T) {
			requireStatus(t, admin.RemoveMember(ctx, api.RemoveMemberParams{UserId: bu.a.UserID}), 409)
			_, err := admin.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{authz.RoleMemberID}}, api.SetMemberRolesParams{UserId: bu.a.UserID})
			requireStatus(t, err, 409)
			_, err = admin.UpdateMember(ctx, &api.MemberUpdate{Status: api.MemberStatusSuspended}, api.UpdateMemberParams{UserId: bu.a.UserID})
			requireStatus(t, err, 409)
		})
		t.Run("OK/SuspendEndsAccess", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.ListConversations(ctx, api.ListConversationsParams{})
			require.NoError(t, err)
			got, err := admin.UpdateMember(ctx, &api.MemberUpdate{Status: api.MemberStatusSuspended}, api.UpdateMemberParams{UserId: m.UserID})
			require.NoError(t, err)
			require.Equal(t, api.MemberStatusSuspended, got.Status)
			_, err = m.Client.ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 401)
		})
		t.Run("OK/RemoveEndsAccess", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			require.NoError(t, admin.RemoveMember(ctx, api.RemoveMemberParams{UserId: m.UserID}))
			_, err := m.Client.ListConversations(ctx, api.ListConversationsParams{})
			requireStatus(t, err, 401)
			_, err = admin.GetMember(ctx, api.GetMemberParams{UserId: m.UserID})
			requireStatus(t, err, 404)
		})
		t.Run("OK/CatalogAndList", func(t *testing.T) {
			cat, err := admin.ListPermissions(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, cat.Groups)
			roles, err := admin.ListRoles(ctx)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(roles.Items), 3)
			ms, err := admin.ListMembers(ctx, api.ListMembersParams{})
			require.NoError(t, err)
			for _, m := range ms.Items {
				require.NotEqual(t, bu.b.UserID, m.UserID, "other tenant's members are not listed")
			}
		})
		t.Run("ErrMemberWithoutPermission", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.CreateRole(ctx, &api.RoleCreate{Name: "mine", Permissions: []string{"*"}})
			requireStatus(t, err, 403)
			requireStatus(t, m.Client.RemoveMember(ctx, api.RemoveMemberParams{UserId: bu.a.UserID}), 403)
		})
	})
}
