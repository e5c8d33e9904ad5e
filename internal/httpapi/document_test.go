package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/authz"
)

func TestDocuments(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		mk := func(title, content string, tags ...string) *api.Document {
			d, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: title, Content: content, Tags: tags})
			require.NoError(t, err)
			return d
		}
		d1 := mk("Passkey rollout plan", "We replace passwords with passkeys in March.", "security", "plan")
		mk("Lunch menu", "Soup and bread.", "food")
		t.Run("OK/GetUpdate", func(t *testing.T) {
			got, err := a.GetDocument(ctx, api.GetDocumentParams{DocumentId: d1.ID})
			require.NoError(t, err)
			require.Equal(t, api.DocumentContentTypeTextMarkdown, got.ContentType)
			up, err := a.UpdateDocument(ctx, &api.DocumentUpdate{Tags: []string{"security"}}, api.UpdateDocumentParams{DocumentId: d1.ID})
			require.NoError(t, err)
			require.Equal(t, []string{"security"}, up.Tags)
			require.Equal(t, d1.Content, up.Content)
		})
		t.Run("OK/FilterByTag", func(t *testing.T) {
			p, err := a.ListDocuments(ctx, api.ListDocumentsParams{Tag: api.NewOptString("food")})
			require.NoError(t, err)
			require.Len(t, p.Items, 1)
			require.Equal(t, "Lunch menu", p.Items[0].Title)
		})
		t.Run("OK/Search", func(t *testing.T) {
			p, err := a.ListDocuments(ctx, api.ListDocumentsParams{Q: api.NewOptString("passkeys")})
			require.NoError(t, err)
			require.Len(t, p.Items, 1)
			require.Equal(t, d1.ID, p.Items[0].ID)
		})
		t.Run("ErrCrossTenant", func(t *testing.T) {
			b := bu.b.Client
			_, err := b.GetDocument(ctx, api.GetDocumentParams{DocumentId: d1.ID})
			requireStatus(t, err, 404)
			_, err = b.UpdateDocument(ctx, &api.DocumentUpdate{Title: api.NewOptString("x")}, api.UpdateDocumentParams{DocumentId: d1.ID})
			requireStatus(t, err, 404)
			requireStatus(t, b.DeleteDocument(ctx, api.DeleteDocumentParams{DocumentId: d1.ID}), 404)
			_, err = b.ShareDocument(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: bu.b.UserID, Level: api.ShareLevelOwner},
				api.ShareDocumentParams{DocumentId: d1.ID})
			requireStatus(t, err, 404)
			p, err := b.ListDocuments(ctx, api.ListDocumentsParams{})
			require.NoError(t, err)
			require.Empty(t, p.Items)
		})
		t.Run("OK/SharingRule", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.GetDocument(ctx, api.GetDocumentParams{DocumentId: d1.ID})
			requireStatus(t, err, 404)
			_, err = a.ShareDocument(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: m.UserID, Level: api.ShareLevelViewer},
				api.ShareDocumentParams{DocumentId: d1.ID})
			require.NoError(t, err)
			_, err = m.Client.GetDocument(ctx, api.GetDocumentParams{DocumentId: d1.ID})
			require.NoError(t, err)
			_, err = m.Client.UpdateDocument(ctx, &api.DocumentUpdate{Title: api.NewOptString("x")}, api.UpdateDocumentParams{DocumentId: d1.ID})
			requireStatus(t, err, 403)
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			_, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: "big", Content: strings.Repeat("x", 300_000)})
			requireStatus(t, err, 400)
		})
		t.Run("OK/Delete", func(t *testing.T) {
			require.NoError(t, a.DeleteDocument(ctx, api.DeleteDocumentParams{DocumentId: d1.ID}))
			_, err := a.GetDocument(ctx, api.GetDocumentParams{DocumentId: d1.ID})
			requireStatus(t, err, 404)
		})
	})
}

func TestAgents(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		doc, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: "Style guide", Content: "Be brief."})
		require.NoError(t, err)
		ag, err := a.CreateAgent(ctx, &api.AgentCreate{Name: "Editor", Model: "echo-1", Instructions: api.NewOptString("Edit."),
			Temperature: api.NewOptFloat64(0.2), DocumentIds: []uuid.UUID{doc.ID}})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{doc.ID}, ag.DocumentIds)
		t.Run("OK/Update", func(t *testing.T) {
			up, err := a.UpdateAgent(ctx, &api.AgentUpdate{MaxTokens: api.NewOptInt(256)}, api.UpdateAgentParams{AgentId: ag.ID})
			require.NoError(t, err)
			require.Equal(t, 256, up.MaxTokens.Value)
			require.Equal(t, 0.2, up.Temperature.Value)
		})
		t.Run("ErrDocumentOfAnotherTenant", func(t *testing.T) {
			_, err := bu.b.Client.CreateAgent(ctx, &api.AgentCreate{Name: "Thief", Model: "echo-1", DocumentIds: []uuid.UUID{doc.ID}})
			requireStatus(t, err, 400)
		})
		t.Run("ErrCrossTenant", func(t *testing.T) {
			_, err := bu.b.Client.GetAgent(ctx, api.GetAgentParams{AgentId: ag.ID})
			requireStatus(t, err, 404)
			requireStatus(t, bu.b.Client.DeleteAgent(ctx, api.DeleteAgentParams{AgentId: ag.ID}), 404)
			p, err := bu.b.Client.ListAgents(ctx, api.ListAgentsParams{})
			require.NoError(t, err)
			require.Empty(t, p.Items)
		})
		t.Run("OK/SharingRule", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.GetAgent(ctx, api.GetAgentParams{AgentId: ag.ID})
			requireStatus(t, err, 404)
			_, err = a.ShareAgent(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: m.UserID, Level: api.ShareLevelEditor},
				api.ShareAgentParams{AgentId: ag.ID})
			require.NoError(t, err)
			_, err = m.Client.UpdateAgent(ctx, &api.AgentUpdate{Name: api.NewOptString("Copy editor")}, api.UpdateAgentParams{AgentId: ag.ID})
			require.NoError(t, err)
			requireStatus(t, m.Client.DeleteAgent(ctx, api.DeleteAgentParams{AgentId: ag.ID}), 403)
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			res, err := bu.env.Server.Client().Do(mustReq(t, "POST", bu.env.Server.URL+"/api/v1/agents", bu.a.Token, `{"name":"x","model":"m","temperature":3}`))
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, 400, res.StatusCode)
		})
	})
}

func mustReq(t *testing.T, method, url, token, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return req
}
