package httpapi

import (
	"context"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/membership"
	"atrium/ent/share"
	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/member"
	"atrium/internal/page"
	"atrium/internal/team"
)

// Roles is what the handler needs of the role service.
type Roles interface {
	List(ctx context.Context) ([]authz.RoleInfo, error)
	Get(ctx context.Context, id uuid.UUID) (authz.RoleInfo, error)
	Create(ctx context.Context, in authz.RoleInput) (authz.RoleInfo, error)
	Update(ctx context.Context, id uuid.UUID, in authz.RoleUpdate) (authz.RoleInfo, error)
	Delete(ctx context.Context, id uuid.UUID, reassignTo *uuid.UUID) error
}

// Members is what the handler needs of the member service.
type Members interface {
	List(ctx context.Context, cursor string, limit int) (page.Page[member.Member], error)
	Get(ctx context.Context, userID uuid.UUID) (member.Member, error)
	SetRoles(ctx context.Context, userID uuid.UUID, roleIDs []uuid.UUID) (member.Member, error)
	SetStatus(ctx context.Context, userID uuid.UUID, status membership.Status) (member.Member, error)
	Remove(ctx context.Context, userID uuid.UUID) error
}

// Teams is what the handler needs of the team service.
type Teams interface {
	List(ctx context.Context, cursor string, limit int) (page.Page[team.Team], error)
	Get(ctx context.Context, id uuid.UUID) (team.Team, error)
	Create(ctx context.Context, in team.Input) (team.Team, error)
	Update(ctx context.Context, id uuid.UUID, in team.Update) (team.Team, error)
	Delete(ctx context.Context, id uuid.UUID) error
	AddMember(ctx context.Context, id, userID uuid.UUID) error
	RemoveMember(ctx context.Context, id, userID uuid.UUID) error
}

// Shares is what the handler needs of the share service.
type Shares interface {
	List(ctx context.Context, rt authz.ResourceType, id uuid.UUID) ([]*ent.Share, error)
	Share(ctx context.Context, rt authz.ResourceType, id uuid.UUID, in authz.ShareInput) (*ent.Share, error)
	Revoke(ctx context.Context, rt authz.ResourceType, resourceID, shareID uuid.UUID) error
}

// Checker answers batch permission checks.
type Checker interface {
	Check(ctx context.Context, items []authz.CheckItem) ([]authz.CheckResult, error)
}

// ListPermissions implements listPermissions.
// GET /permissions
func (h *Handler) ListPermissions(context.Context) (*api.PermissionCatalog, error) {
	out := &api.PermissionCatalog{}
	for _, g := range authz.Groups() {
		item := api.PermissionCatalogGroupsItem{Resource: g.Resource}
		for _, d := range g.Permissions {
			item.Permissions = append(item.Permissions, api.PermissionCatalogGroupsItemPermissionsItem{Name: d.Name, Description: d.Description})
		}
		out.Groups = append(out.Groups, item)
	}
	return out, nil
}

// ListRoles implements listRoles.
// GET /roles
func (h *Handler) ListRoles(ctx context.Context) (*api.RoleList, error) {
	rs, err := h.roles.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.RoleList{Items: make([]api.Role, 0, len(rs))}
	for _, r := range rs {
		out.Items = append(out.Items, toRole(r))
	}
	return out, nil
}

// GetRole implements getRole.
// GET /roles/{roleId}
func (h *Handler) GetRole(ctx context.Context, p api.GetRoleParams) (*api.Role, error) {
	return roleOut(h.roles.Get(ctx, p.RoleId))
}

// CreateRole implements createRole.
// POST /roles
func (h *Handler) CreateRole(ctx context.Context, req *api.RoleCreate) (*api.Role, error) {
	return roleOut(h.roles.Create(ctx, authz.RoleInput{Name: req.Name, Description: req.Description.Or(""), Permissions: req.Permissions}))
}

// UpdateRole implements updateRole.
// PATCH /roles/{roleId}
func (h *Handler) UpdateRole(ctx context.Context, req *api.RoleUpdate, p api.UpdateRoleParams) (*api.Role, error) {
	var in authz.RoleUpdate
	if v, ok := req.Name.Get(); ok {
		in.Name = &v
	}
	if v, ok := req.Description.Get(); ok {
		in.Description = &v
	}
	if req.Permissions != nil {
		in.Permissions = &req.Permissions
	}
	return roleOut(h.roles.Update(ctx, p.RoleId, in))
}

// DeleteRole implements deleteRole.
// DELETE /roles/{roleId}
func (h *Handler) DeleteRole(ctx context.Context, p api.DeleteRoleParams) error {
	var to *uuid.UUID
	if v, ok := p.ReassignTo.Get(); ok {
		to = &v
	}
	return h.roles.Delete(ctx, p.RoleId, to)
}

// ListMembers implements listMembers.
// GET /members
func (h *Handler) ListMembers(ctx context.Context, p api.ListMembersParams) (*api.MemberPage, error) {
	pg, err := h.members.List(ctx, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.MemberPage{Items: make([]api.Member, 0, len(pg.Items))}
	for _, m := range pg.Items {
		out.Items = append(out.Items, *toMember(m))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// GetMember implements getMember.
// GET /members/{userId}
func (h *Handler) GetMember(ctx context.Context, p api.GetMemberParams) (*api.Member, error) {
	return memberOut(h.members.Get(ctx, p.UserId))
}

// UpdateMember implements updateMember.
// PATCH /members/{userId}
func (h *Handler) UpdateMember(ctx context.Context, req *api.MemberUpdate, p api.UpdateMemberParams) (*api.Member, error) {
	return memberOut(h.members.SetStatus(ctx, p.UserId, membership.Status(req.Status)))
}

// SetMemberRoles implements setMemberRoles.
// PUT /members/{userId}/roles
func (h *Handler) SetMemberRoles(ctx context.Context, req *api.MemberRoles, p api.SetMemberRolesParams) (*api.Member, error) {
	return memberOut(h.members.SetRoles(ctx, p.UserId, req.RoleIds))
}

// RemoveMember implements removeMember.
// DELETE /members/{userId}
func (h *Handler) RemoveMember(ctx context.Context, p api.RemoveMemberParams) error {
	return h.members.Remove(ctx, p.UserId)
}

// ListTeams implements listTeams.
// GET /teams
func (h *Handler) ListTeams(ctx context.Context, p api.ListTeamsParams) (*api.TeamPage, error) {
	pg, err := h.teams.List(ctx, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.TeamPage{Items: make([]api.Team, 0, len(pg.Items))}
	for _, t := range pg.Items {
		out.Items = append(out.Items, *toTeam(t))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// GetTeam implements getTeam.
// GET /teams/{teamId}
func (h *Handler) GetTeam(ctx context.Context, p api.GetTeamParams) (*api.Team, error) {
	return teamOut(h.teams.Get(ctx, p.TeamId))
}

// CreateTeam implements createTeam.
// POST /teams
func (h *Handler) CreateTeam(ctx context.Context, req *api.TeamCreate) (*api.Team, error) {
	return teamOut(h.teams.Create(ctx, team.Input{Name: req.Name, Description: req.Description.Or("")}))
}

// UpdateTeam implements updateTeam.
// PATCH /teams/{teamId}
func (h *Handler) UpdateTeam(ctx context.Context, req *api.TeamUpdate, p api.UpdateTeamParams) (*api.Team, error) {
	var in team.Update
	if v, ok := req.Name.Get(); ok {
		in.Name = &v
	}
	if v, ok := req.Description.Get(); ok {
		in.Description = &v
	}
	return teamOut(h.teams.Update(ctx, p.TeamId, in))
}

// DeleteTeam implements deleteTeam.
// DELETE /teams/{teamId}
func (h *Handler) DeleteTeam(ctx context.Context, p api.DeleteTeamParams) error {
	return h.teams.Delete(ctx, p.TeamId)
}

// AddTeamMember implements addTeamMember.
// PUT /teams/{teamId}/members/{userId}
func (h *Handler) AddTeamMember(ctx context.Context, p api.AddTeamMemberParams) error {
	return h.teams.AddMember(ctx, p.TeamId, p.UserId)
}

// RemoveTeamMember implements removeTeamMember.
// DELETE /teams/{teamId}/members/{userId}
func (h *Handler) RemoveTeamMember(ctx context.Context, p api.RemoveTeamMemberParams) error {
	return h.teams.RemoveMember(ctx, p.TeamId, p.UserId)
}

// ListConversationShares implements listConversationShares.
// GET /conversations/{conversationId}/shares
func (h *Handler) ListConversationShares(ctx context.Context, p api.ListConversationSharesParams) (*api.ShareList, error) {
	return h.listShares(ctx, authz.Conversation, p.ConversationId)
}

// ShareConversation implements shareConversation.
// POST /conversations/{conversationId}/shares
func (h *Handler) ShareConversation(ctx context.Context, req *api.ShareCreate, p api.ShareConversationParams) (*api.Share, error) {
	return h.share(ctx, authz.Conversation, p.ConversationId, req)
}

// RevokeConversationShare implements revokeConversationShare.
// DELETE /conversations/{conversationId}/shares/{shareId}
func (h *Handler) RevokeConversationShare(ctx context.Context, p api.RevokeConversationShareParams) error {
	return h.shares.Revoke(ctx, authz.Conversation, p.ConversationId, p.ShareId)
}

// CheckPermissions implements checkPermissions.
// POST /authz/check
func (h *Handler) CheckPermissions(ctx context.Context, req *api.CheckRequest) (*api.CheckResponse, error) {
	items := make([]authz.CheckItem, len(req.Checks))
	for i, c := range req.Checks {
		items[i] = authz.CheckItem{Permission: c.Permission}
		if rt, ok := c.ResourceType.Get(); ok {
			items[i].ResourceType = authz.ResourceType(rt)
			items[i].ResourceID = c.ResourceID.Or(uuid.Nil)
		}
	}
	res, err := h.checker.Check(ctx, items)
	if err != nil {
		return nil, err
	}
	out := &api.CheckResponse{Results: make([]api.CheckResponseResultsItem, len(res))}
	for i, r := range res {
		out.Results[i] = api.CheckResponseResultsItem{Allowed: r.Allowed, Reason: r.Reason}
	}
	return out, nil
}

func toRole(r authz.RoleInfo) api.Role {
	out := api.Role{ID: r.Role.ID, Name: r.Role.Name, Description: r.Role.Description, System: r.Role.System,
		Permissions: r.Role.Permissions, Members: r.Members}
	if out.Permissions == nil {
		out.Permissions = []string{}
	}
	if r.Role.TenantID != nil {
		out.TenantID = api.NewOptUUID(*r.Role.TenantID)
	}
	return out
}

func roleOut(r authz.RoleInfo, err error) (*api.Role, error) {
	if err != nil {
		return nil, err
	}
	out := toRole(r)
	return &out, nil
}

func toMember(m member.Member) *api.Member {
	return &api.Member{UserID: m.Membership.UserID, DisplayName: m.DisplayName, Status: api.MemberStatus(m.Membership.Status),
		RoleIds: m.RoleIDs, TeamIds: m.TeamIDs, JoinedAt: m.Membership.CreatedAt, CloneWarningDeviceIds: m.CloneWarnings}
}

func memberOut(m member.Member, err error) (*api.Member, error) {
	if err != nil {
		return nil, err
	}
	return toMember(m), nil
}

func toTeam(t team.Team) *api.Team {
	return &api.Team{ID: t.Team.ID, TenantID: t.Team.TenantID, Name: t.Team.Name, Description: t.Team.Description,
		MemberIds: t.MemberIDs, CreatedBy: t.Team.CreatedBy, CreatedAt: t.Team.CreatedAt, UpdatedAt: t.Team.UpdatedAt}
}

func teamOut(t team.Team, err error) (*api.Team, error) {
	if err != nil {
		return nil, err
	}
	return toTeam(t), nil
}

func toShare(s *ent.Share) *api.Share {
	return &api.Share{ID: s.ID, ResourceType: api.ResourceType(s.ResourceType), ResourceID: s.ResourceID,
		SubjectType: api.ShareSubjectType(s.SubjectType), SubjectID: s.SubjectID, Level: api.ShareLevel(s.Level),
		CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt}
}

func (h *Handler) listShares(ctx context.Context, rt authz.ResourceType, id uuid.UUID) (*api.ShareList, error) {
	ss, err := h.shares.List(ctx, rt, id)
	if err != nil {
		return nil, err
	}
	out := &api.ShareList{Items: make([]api.Share, 0, len(ss))}
	for _, s := range ss {
		out.Items = append(out.Items, *toShare(s))
	}
	return out, nil
}

func (h *Handler) share(ctx context.Context, rt authz.ResourceType, id uuid.UUID, req *api.ShareCreate) (*api.Share, error) {
	s, err := h.shares.Share(ctx, rt, id, authz.ShareInput{
		SubjectType: share.SubjectType(req.SubjectType), SubjectID: req.SubjectID, Level: share.Level(req.Level),
	})
	if err != nil {
		return nil, err
	}
	return toShare(s), nil
}
