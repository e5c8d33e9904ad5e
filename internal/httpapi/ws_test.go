package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/authz"
)

type wsEvent struct {
	Type           string          `json:"type"`
	ConversationID string          `json:"conversation_id"`
	Data           json.RawMessage `json:"data"`
}

func dialWS(t *testing.T, bu *bundle, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(bu.env.Server.URL, "http") + "/api/v1/ws"
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"atrium.v1", "bearer." + token}})
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	require.NoError(t, c.Write(context.Background(), websocket.MessageText, b))
}

func next(t *testing.T, c *websocket.Conn, want string) wsEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		require.NoError(t, err, "waiting for %s", want)
		var e wsEvent
		require.NoError(t, json.Unmarshal(b, &e))
		if e.Type == want {
			return e
		}
	}
}

// TestRealtime: through the whole app, a subscriber receives new messages,
// another tenant cannot subscribe, and a revoked share ends the subscription.
func TestRealtime(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx := bu.ctx
		t.Run("OK/ReceivesMessages", func(t *testing.T) {
			// Its own conversation: other parallel tests append to bu.convA.
			conv, err := bu.a.Client.CreateConversation(ctx, &api.ConversationCreate{})
			require.NoError(t, err)
			c := dialWS(t, bu, bu.a.Token)
			send(t, c, map[string]string{"type": "subscribe", "conversation_id": conv.ID.String()})
			next(t, c, "subscribed")
			_, err = bu.a.Client.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "live"},
				api.AppendMessageParams{ConversationId: conv.ID})
			require.NoError(t, err)
			e := next(t, c, "message.created")
			require.Equal(t, conv.ID.String(), e.ConversationID)
			require.Contains(t, string(e.Data), "live")
		})
		t.Run("ErrOtherTenantCannotSubscribe", func(t *testing.T) {
			c := dialWS(t, bu, bu.b.Token)
			send(t, c, map[string]string{"type": "subscribe", "conversation_id": bu.convA.ID.String()})
			e := next(t, c, "error")
			require.Contains(t, string(e.Data), "not_found")
		})
		t.Run("OK/RevokedShareEndsSubscription", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			s, err := bu.a.Client.ShareConversation(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: m.UserID,
				Level: api.ShareLevelViewer}, api.ShareConversationParams{ConversationId: bu.convA.ID})
			require.NoError(t, err)
			c := dialWS(t, bu, m.Token)
			send(t, c, map[string]string{"type": "subscribe", "conversation_id": bu.convA.ID.String()})
			next(t, c, "subscribed")
			require.NoError(t, bu.a.Client.RevokeConversationShare(ctx, api.RevokeConversationShareParams{ConversationId: bu.convA.ID, ShareId: s.ID}))
			next(t, c, "unsubscribed")
		})
		// Revocations reach open connections through the caches'
		// invalidations, at once (the safety recheck is 30–60 s away).
		t.Run("OK/LogoutClosesConnection", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			c := dialWS(t, bu, m.Token)
			send(t, c, map[string]string{"type": "ping"})
			next(t, c, "pong")
			require.NoError(t, m.Client.Logout(ctx))
			requireClosed(t, c, 4401)
		})
		t.Run("OK/RemovedMemberClosesConnection", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			c := dialWS(t, bu, m.Token)
			send(t, c, map[string]string{"type": "ping"})
			next(t, c, "pong")
			require.NoError(t, bu.a.Client.RemoveMember(ctx, api.RemoveMemberParams{UserId: m.UserID}))
			requireClosed(t, c, 4401)
		})
		t.Run("ErrTokenInURL", func(t *testing.T) {
			res, err := bu.env.Server.Client().Get(bu.env.Server.URL + "/api/v1/ws?access_token=" + bu.a.Token)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, 400, res.StatusCode)
		})
	})
}

// TestRealtimeAssistantStream: a reply streams its tokens to subscribers
// before the stored reply's message.created.
func TestRealtimeAssistantStream(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		ag, err := a.CreateAgent(ctx, &api.AgentCreate{Name: "Echo", Model: "echo-1"})
		require.NoError(t, err)
		conv, err := a.CreateConversation(ctx, &api.ConversationCreate{AgentID: api.NewOptUUID(ag.ID)})
		require.NoError(t, err)
		c := dialWS(t, bu, bu.a.Token)
		send(t, c, map[string]string{"type": "subscribe", "conversation_id": conv.ID.String()})
		next(t, c, "subscribed")
		_, err = a.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "stream these words please", Reply: api.NewOptBool(true)},
			api.AppendMessageParams{ConversationId: conv.ID})
		require.NoError(t, err)
		var streamed strings.Builder
		for {
			e := next2(t, c)
			if e.Type == "assistant.token" {
				var d struct{ Delta string }
				require.NoError(t, json.Unmarshal(e.Data, &d))
				streamed.WriteString(d.Delta)
				continue
			}
			if e.Type == "message.created" && strings.Contains(string(e.Data), `"assistant"`) {
				break
			}
		}
		require.Contains(t, streamed.String(), "stream these words please")
	})
}

// requireClosed reads c until the server closes it with code.
func requireClosed(t *testing.T, c *websocket.Conn, code websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			require.Equal(t, code, websocket.CloseStatus(err), "%v", err)
			return
		}
	}
}

func next2(t *testing.T, c *websocket.Conn) wsEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	require.NoError(t, err)
	var e wsEvent
	require.NoError(t, json.Unmarshal(b, &e))
	return e
}
