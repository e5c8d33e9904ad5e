package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/config"
	"atrium/internal/testkit"
)

func completion(model, text string) *api.CompletionRequest {
	return &api.CompletionRequest{Model: model, Messages: []api.ChatMessage{{Role: api.ChatMessageRoleUser, Content: text}}}
}

func TestLLM(t *testing.T) {
	t.Parallel()
	// A provider that fails: 500 for one model, a stall for the other.
	// The stall ends when the provider gives up, which it does when the
	// test fires its timeout timer (timers), not after real time.
	stalled := make(chan struct{}, 1)
	timers := &manualTimers{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/chat/completions":
			if r.Header.Get("Authorization") != "Bearer sk-test" {
				w.WriteHeader(401)
				return
			}
			var body struct{ Model string }
			_ = jsonDecode(r, &body)
			if body.Model == "slow" {
				stalled <- struct{}{}
				<-r.Context().Done()
				return
			}
			w.WriteHeader(500)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(upstream.Close)
	env := apptest.New(t, testkit.SQLite(t), func(c *config.Config) {
		c.LLMBaseURL, c.LLMAPIKey, c.LLMModels = upstream.URL+"/v1", "sk-test", []string{"broken", "slow"}
		c.LLMTimeout = time.Minute
		c.AfterFunc = timers.AfterFunc
		c.LLMMonthlyTokens = 12
	})
	tenant := env.Tenant()
	m := env.Member(tenant.ID, authz.RoleMemberID)
	ctx := t.Context()
	t.Run("OK/Models", func(t *testing.T) {
		ms, err := m.Client.ListModels(ctx)
		require.NoError(t, err)
		ids := map[string]bool{}
		for _, it := range ms.Items {
			ids[it.ID] = true
		}
		require.True(t, ids["echo-1"] && ids["broken"] && ids["slow"], "%v", ids)
	})
	t.Run("OK/EchoCompletion", func(t *testing.T) {
		c, err := m.Client.CreateCompletion(ctx, completion("echo-1", "hello there"))
		require.NoError(t, err)
		require.Contains(t, c.Content, "hello there")
		require.Positive(t, c.Usage.PromptTokens)
	})
	t.Run("ErrUnknownModel", func(t *testing.T) {
		_, err := m.Client.CreateCompletion(ctx, completion("gpt-17", "hi"))
		requireStatus(t, err, 400)
	})
	t.Run("ErrProvider502", func(t *testing.T) {
		_, err := m.Client.CreateCompletion(ctx, completion("broken", "hi"))
		requireStatus(t, err, 502)
	})
	t.Run("ErrProviderTimeout504", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() {
			_, err := m.Client.CreateCompletion(ctx, completion("slow", "hi"))
			errc <- err
		}()
		<-stalled
		timers.FireAll()
		requireStatus(t, <-errc, 504)
	})
	t.Run("ErrQuota429", func(t *testing.T) {
		var err error
		for range 10 {
			if _, err = m.Client.CreateCompletion(ctx, completion("echo-1", "one two three four five")); err != nil {
				break
			}
		}
		requireStatus(t, err, 429)
	})
	t.Run("ErrViewerHasNoLLM", func(t *testing.T) {
		v := env.Member(tenant.ID, authz.RoleViewerID)
		_, err := v.Client.CreateCompletion(ctx, completion("echo-1", "hi"))
		requireStatus(t, err, 403)
	})
}

// manualTimers is config.AfterFunc for tests: a timer fires only when the
// test calls FireAll.
type manualTimers struct {
	mu     sync.Mutex
	timers []*manualTimer
}

type manualTimer struct {
	mu     sync.Mutex
	f      func()
	active bool
}

func (m *manualTimers) AfterFunc(_ time.Duration, f func()) interface {
	Reset(time.Duration) bool
	Stop() bool
} {
	t := &manualTimer{f: f, active: true}
	m.mu.Lock()
	m.timers = append(m.timers, t)
	m.mu.Unlock()
	return t
}

// FireAll runs every timer still armed.
func (m *manualTimers) FireAll() {
	m.mu.Lock()
	ts := m.timers
	m.timers = nil
	m.mu.Unlock()
	for _, t := range ts {
		t.mu.Lock()
		f, active := t.f, t.active
		t.active = false
		t.mu.Unlock()
		if active {
			f()
		}
	}
}

func (t *manualTimer) Reset(time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.active
	t.active = true
	return was
}

func (t *manualTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

// TestAssistantReply: a conversation with an agent answers, using the
// agent's instructions; a provider failure stores nothing.
func TestAssistantReply(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		doc, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: "Facts", Content: "The sky is blue."})
		require.NoError(t, err)
		ag, err := a.CreateAgent(ctx, &api.AgentCreate{Name: "Echo", Model: "echo-1", Instructions: api.NewOptString("Answer briefly."),
			DocumentIds: []uuid.UUID{doc.ID}})
		require.NoError(t, err)
		conv, err := a.CreateConversation(ctx, &api.ConversationCreate{AgentID: api.NewOptUUID(ag.ID)})
		require.NoError(t, err)
		require.Equal(t, ag.ID, conv.AgentID.Value)
		t.Run("OK", func(t *testing.T) {
			res, err := a.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "what colour is the sky", Reply: api.NewOptBool(true)},
				api.AppendMessageParams{ConversationId: conv.ID})
			require.NoError(t, err)
			require.True(t, res.Reply.Set)
			require.Equal(t, api.MessageRoleAssistant, res.Reply.Value.Role)
			require.Contains(t, res.Reply.Value.Content, "what colour is the sky")
			msgs, err := a.ListMessages(ctx, api.ListMessagesParams{ConversationId: conv.ID})
			require.NoError(t, err)
			require.Len(t, msgs.Items, 2)
		})
		t.Run("ErrNoAgent", func(t *testing.T) {
			plain, err := a.CreateConversation(ctx, &api.ConversationCreate{})
			require.NoError(t, err)
			_, err = a.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "hi", Reply: api.NewOptBool(true)},
				api.AppendMessageParams{ConversationId: plain.ID})
			requireStatus(t, err, 400)
			msgs, err := a.ListMessages(ctx, api.ListMessagesParams{ConversationId: plain.ID})
			require.NoError(t, err)
			require.Empty(t, msgs.Items, "nothing half-written")
		})
		t.Run("ErrAgentOfAnotherTenant", func(t *testing.T) {
			_, err := bu.b.Client.CreateConversation(ctx, &api.ConversationCreate{AgentID: api.NewOptUUID(ag.ID)})
			requireStatus(t, err, 400)
		})
	})
}

// TestAssistantContext: the model sees the agent's instructions, its
// documents and its knowledge graphs (entities and relations) — only those
// the person asking may read.
func TestAssistantContext(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		systems []string
	)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct{ Role, Content string }
		}
		if err := jsonDecode(r, &body); err != nil || r.URL.Path != "/v1/chat/completions" {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		for _, m := range body.Messages {
			if m.Role == "system" {
				systems = append(systems, m.Content)
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range []string{
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"ctx","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":null}]}`,
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"ctx","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"ctx","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`,
			`[DONE]`,
		} {
			fmt.Fprintf(w, "data: %s\n\n", e)
		}
	}))
	t.Cleanup(upstream.Close)
	env := apptest.New(t, testkit.SQLite(t), func(c *config.Config) {
		c.LLMBaseURL, c.LLMAPIKey, c.LLMModels = upstream.URL+"/v1", "sk-test", []string{"ctx"}
	})
	tenant := env.Tenant()
	admin := env.Member(tenant.ID, authz.RoleAdminID)
	member := env.Member(tenant.ID, authz.RoleMemberID)
	ctx := t.Context()
	a := admin.Client

	graph := func(name string) uuid.UUID {
		g, err := a.CreateKnowledgeGraph(ctx, &api.KnowledgeGraphCreate{Name: name, Description: api.NewOptString("About " + name)})
		require.NoError(t, err)
		return g.ID
	}
	node := func(g uuid.UUID, label, typ string) uuid.UUID {
		n, err := a.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: typ, Label: label}, api.AddKnowledgeNodeParams{GraphId: g})
		require.NoError(t, err)
		return n.ID
	}
	shared, secret := graph("Solar system"), graph("Launch codes")
	sun, earth := node(shared, "Sun", "star"), node(shared, "Earth", "planet")
	_, err := a.AddKnowledgeEdge(ctx, &api.KGEdgeCreate{SourceID: earth, TargetID: sun, Type: "orbits"}, api.AddKnowledgeEdgeParams{GraphId: shared})
	require.NoError(t, err)
	node(secret, "Red button", "device")
	_, err = a.ShareKnowledgeGraph(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: member.UserID, Level: api.ShareLevelViewer},
		api.ShareKnowledgeGraphParams{GraphId: shared})
	require.NoError(t, err)
	doc, err := a.CreateDocument(ctx, &api.DocumentCreate{Title: "Private notes", Content: "Pluto is a planet."})
	require.NoError(t, err)
	ag, err := a.CreateAgent(ctx, &api.AgentCreate{Name: "Astronomer", Model: "ctx", Instructions: api.NewOptString("Answer briefly."),
		DocumentIds: []uuid.UUID{doc.ID}, KnowledgeGraphIds: []uuid.UUID{shared, secret}})
	require.NoError(t, err)
	_, err = a.ShareAgent(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: member.UserID, Level: api.ShareLevelViewer},
		api.ShareAgentParams{AgentId: ag.ID})
	require.NoError(t, err)

	ask := func(c *api.Client) string {
		t.Helper()
		conv, err := c.CreateConversation(ctx, &api.ConversationCreate{AgentID: api.NewOptUUID(ag.ID)})
		require.NoError(t, err)
		mu.Lock()
		n := len(systems)
		mu.Unlock()
		_, err = c.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "what does Earth orbit?", Reply: api.NewOptBool(true)},
			api.AppendMessageParams{ConversationId: conv.ID})
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, systems, n+1)
		return systems[n]
	}
	t.Run("OK/GraphsInContext", func(t *testing.T) {
		sys := ask(a)
		require.Contains(t, sys, "Answer briefly.")
		require.Contains(t, sys, "# Knowledge graph: Solar system")
		require.Contains(t, sys, "- Sun (star)")
		require.Contains(t, sys, "- Earth —orbits→ Sun")
		require.Contains(t, sys, "# Knowledge graph: Launch codes", "the admin may read both graphs")
		require.Contains(t, sys, "# Private notes\nPluto is a planet.")
	})
	t.Run("ErrUnreadableGraphLeftOut", func(t *testing.T) {
		sys := ask(member.Client)
		require.Contains(t, sys, "- Earth —orbits→ Sun")
		require.NotContains(t, sys, "Launch codes")
		require.NotContains(t, sys, "Red button")
		require.NotContains(t, sys, "Pluto", "an unshared document stays out too")
	})
}
