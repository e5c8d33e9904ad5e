package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/app"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// TestOneConnection runs the API's main operations against a server whose
// pool has a single PostgreSQL connection. A request that holds a connection
// (inside a transaction) while it waits for a second one cannot finish on
// such a pool: it waits for the acquire timeout, then answers 503 or, where
// the inner read's error was ignored, silently does less. With as many
// concurrent requests as the pool has connections, the same request stalls
// a production pool the same way, so every operation here must succeed.
// (Enrollment had such a read; internal/passkey TestOneConnection.)
func TestOneConnection(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.OpenPostgres(t, testkit.MigratedPostgresURL(t), func(o *app.PoolOptions) {
		o.MaxConns, o.AcquireTimeout = 1, time.Second
	}))
	ctx := context.Background()
	tn := env.Tenant().ID
	admin := env.Member(tn, authz.RoleAdminID)
	bob := env.Member(tn, authz.RoleMemberID)
	a := admin.Client

	ok := func(what string, err error) {
		t.Helper()
		require.NoError(t, err, "%s on one connection", what)
	}
	// check("x")(call()) asserts that a call returning a value succeeded.
	check := func(what string) func(any, error) {
		return func(_ any, err error) {
			t.Helper()
			ok(what, err)
		}
	}

	cv, err := a.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("plans")})
	ok("create conversation", err)
	ok("append message", func() error {
		_, err := a.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hello"},
			api.AppendMessageParams{ConversationId: cv.ID})
		return err
	}())
	check("update conversation")(a.UpdateConversation(ctx, &api.ConversationUpdate{Title: api.NewOptString("new plans")},
		api.UpdateConversationParams{ConversationId: cv.ID}))
	check("list messages")(a.ListMessages(ctx, api.ListMessagesParams{ConversationId: cv.ID}))
	check("list conversations")(a.ListConversations(ctx, api.ListConversationsParams{}))

	tm, err := a.CreateTeam(ctx, &api.TeamCreate{Name: "research"})
	ok("create team", err)
	ok("add team member", a.AddTeamMember(ctx, api.AddTeamMemberParams{TeamId: tm.ID, UserId: bob.UserID}))
	sh, err := a.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeTeam, SubjectID: tm.ID, Level: api.ShareLevelEditor},
		api.ShareConversationParams{ConversationId: cv.ID})
	ok("share conversation", err)
	res, err := bob.Client.CheckPermissions(ctx, &api.CheckRequest{Checks: []api.CheckRequestChecksItem{
		{Permission: "conversation.update", ResourceType: api.NewOptResourceType(api.ResourceTypeConversation), ResourceID: api.NewOptUUID(cv.ID)},
		{Permission: "conversation.read", ResourceType: api.NewOptResourceType(api.ResourceTypeConversation), ResourceID: api.NewOptUUID(uuid.New())},
	}})
	ok("check permissions", err)
	require.True(t, res.Results[0].Allowed, "the team's share gives bob editor access")
	require.False(t, res.Results[1].Allowed)
	check("bob appends")(bob.Client.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hi"},
		api.AppendMessageParams{ConversationId: cv.ID}))
	ok("revoke share", a.RevokeConversationShare(ctx, api.RevokeConversationShareParams{ConversationId: cv.ID, ShareId: sh.ID}))

	doc, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: "doc", Content: "text"})
	ok("create document", err)
	check("update document")(a.UpdateDocument(ctx, &api.DocumentUpdate{Title: api.NewOptString("doc 2")}, api.UpdateDocumentParams{DocumentId: doc.ID}))
	ag, err := a.CreateAgent(ctx, &api.AgentCreate{Name: "agent", Model: "echo-1"})
	ok("create agent", err)
	check("get agent")(a.GetAgent(ctx, api.GetAgentParams{AgentId: ag.ID}))
	kg, err := a.CreateKnowledgeGraph(ctx, &api.KnowledgeGraphCreate{Name: "graph"})
	ok("create graph", err)
	node, err := a.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: "t", Label: "n"}, api.AddKnowledgeNodeParams{GraphId: kg.ID})
	ok("add node", err)

	r, err := a.CreateRole(ctx, &api.RoleCreate{Name: "reader", Permissions: []string{"conversation.read"}})
	ok("create role", err)
	check("set member roles")(a.SetMemberRoles(ctx, &api.MemberRoles{RoleIds: []uuid.UUID{r.ID, authz.RoleMemberID}},
		api.SetMemberRolesParams{UserId: bob.UserID}))
	check("list members")(a.ListMembers(ctx, api.ListMembersParams{}))
	check("create invitation")(a.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(authz.RoleMemberID)}))
	check("list audit events")(a.ListAuditEvents(ctx, api.ListAuditEventsParams{}))
	check("neighbourhood")(a.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: kg.ID, NodeId: node.ID}))
	check("create service account")(a.CreateServiceAccount(ctx, &api.ServiceAccountCreate{Name: "bot", RoleIds: []uuid.UUID{authz.RoleMemberID}}))
	check("me")(bob.Client.GetMe(ctx))
	check("export my data")(bob.Client.ExportMyData(ctx))
	check("suspend member")(a.UpdateMember(ctx, &api.MemberUpdate{Status: api.MemberStatusSuspended}, api.UpdateMemberParams{UserId: bob.UserID}))
	ok("delete conversation", a.DeleteConversation(ctx, api.DeleteConversationParams{ConversationId: cv.ID}))
	carol := env.Member(tn, authz.RoleMemberID)
	check("carol writes")(carol.Client.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("mine")}))
	ok("erase member", a.EraseMember(ctx, &api.ErasureConfirm{Confirm: api.ErasureConfirmConfirmERASE}, api.EraseMemberParams{UserId: carol.UserID}))
}
