package conversation_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	entconv "atrium/ent/conversation"
	"atrium/ent/message"
	"atrium/ent/share"
	"atrium/internal/agent"
	"atrium/internal/authz"
	"atrium/internal/cache"
	"atrium/internal/conversation"
	"atrium/internal/document"
	"atrium/internal/fault"
	"atrium/internal/llm"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// replier stands for the model: it records the requests and answers with
// reply, or fails with err.
type replier struct {
	mu    sync.Mutex
	asked []llm.Request
	err   error
}

func (r *replier) ReplyStream(_ context.Context, req llm.Request, _ uuid.UUID, onDelta func(string)) (*llm.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, req)
	if r.err != nil {
		return nil, r.err
	}
	if onDelta != nil {
		onDelta("hel")
		onDelta("lo")
	}
	return &llm.Response{Model: req.Model, Content: "hello"}, nil
}

// events records what the service announces.
type events struct {
	mu       sync.Mutex
	messages []*ent.Message
	deltas   []string
}

func (e *events) MessageCreated(_ context.Context, m *ent.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.messages = append(e.messages, m)
}

func (e *events) AssistantToken(_ context.Context, _, _ uuid.UUID, delta string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deltas = append(e.deltas, delta)
}

type env struct {
	*testkit.Resources
	t       *testing.T
	svc     *conversation.Service
	agents  *agent.Service
	docs    *document.Service
	model   *replier
	events  *events
	ctx     context.Context // the owner of the conversations the test makes
	userCtx context.Context // the owner, allowed to use the model
}

func setup(t *testing.T) *env {
	t.Helper()
	r := testkit.NewResources(t)
	e := &env{Resources: r, t: t, model: &replier{}, events: &events{},
		agents: agent.NewService(r.Client, r.Audit, r.Access),
		docs:   document.NewService(r.Client, r.DB.Dialect, r.Audit, r.Access, 1<<20)}
	e.svc = conversation.NewService(r.Client, r.Audit, r.Access, e.model)
	e.svc.SetEvents(e.events)
	user := uuid.New()
	e.ctx = r.AsUser(r.Tenant, user, nil)
	e.userCtx = r.AsUser(r.Tenant, user, nil, authz.LLMUse)
	return e
}

func ptr[T any](v T) *T { return &v }

func (e *env) conv(in conversation.CreateInput) *ent.Conversation {
	e.t.Helper()
	c, err := e.svc.Create(e.ctx, in)
	require.NoError(e.t, err)
	return c
}

func (e *env) say(c uuid.UUID, content string) *ent.Message {
	e.t.Helper()
	out, err := e.svc.AppendMessage(e.ctx, c, conversation.AppendInput{Role: message.RoleUser, Content: content})
	require.NoError(e.t, err)
	return out.Message
}

func (e *env) messages(c uuid.UUID) []string {
	e.t.Helper()
	ms, err := e.Client.Message.Query().Where(message.ConversationID(c)).Order(ent.Asc(message.FieldID)).All(e.System())
	require.NoError(e.t, err)
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Role)+": "+m.Content)
	}
	return out
}

func TestConversation(t *testing.T) {
	t.Parallel()

	t.Run("OKLifecycleAudited", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		c := e.conv(conversation.CreateInput{Title: "Plans", Metadata: map[string]string{"k": "v"}})
		require.Equal(t, entconv.StatusActive, c.Status)
		archived := entconv.StatusArchived
		c, err := e.svc.Update(e.ctx, c.ID, conversation.UpdateInput{Status: &archived})
		require.NoError(t, err)
		require.Equal(t, "Plans", c.Title, "a nil field stays")
		require.Equal(t, map[string]string{"k": "v"}, c.Metadata)
		m := e.say(c.ID, "hi")
		require.NoError(t, e.svc.Delete(e.ctx, c.ID))
		require.Equal(t, []string{conversation.ActionCreated, conversation.ActionUpdated, conversation.ActionDeleted}, e.Actions(c.ID))
		require.Equal(t, []string{conversation.ActionMessageAppend}, e.Actions(m.ID))
	})

	t.Run("OKDeleteTakesMessages", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		c, keep := e.conv(conversation.CreateInput{}), e.conv(conversation.CreateInput{})
		e.say(c.ID, "one")
		e.say(c.ID, "two")
		e.say(keep.ID, "stays")
		require.NoError(t, e.svc.Delete(e.ctx, c.ID))
		require.Empty(t, e.messages(c.ID))
		require.Equal(t, []string{"user: stays"}, e.messages(keep.ID))
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		many := map[string]string{}
		for i := range conversation.MaxMetadataKeys + 1 {
			many[strings.Repeat("k", i+1)] = ""
		}
		for _, tc := range []struct {
			field string
			in    conversation.CreateInput
		}{
			{"title", conversation.CreateInput{Title: strings.Repeat("é", conversation.MaxTitle+1)}},
			{"metadata", conversation.CreateInput{Metadata: many}},
			{"metadata", conversation.CreateInput{Metadata: map[string]string{"": "v"}}},
			{"metadata", conversation.CreateInput{Metadata: map[string]string{strings.Repeat("k", 101): "v"}}},
			{"metadata", conversation.CreateInput{Metadata: map[string]string{"k": strings.Repeat("v", conversation.MaxMetadataLen+1)}}},
			{"agent_id", conversation.CreateInput{AgentID: ptr(uuid.New())}},
		} {
			_, err := e.svc.Create(e.ctx, tc.in)
			testkit.RequireField(t, err, tc.field)
		}
		_, err := e.svc.Create(e.ctx, conversation.CreateInput{Title: strings.Repeat("é", conversation.MaxTitle),
			Metadata: map[string]string{"k": strings.Repeat("é", conversation.MaxMetadataLen)}})
		require.NoError(t, err, "characters, not bytes")

		c := e.conv(conversation.CreateInput{Title: "t"})
		for _, tc := range []struct {
			field string
			in    conversation.UpdateInput
		}{
			{"body", conversation.UpdateInput{}},
			{"status", conversation.UpdateInput{Status: ptr(entconv.Status("deleted"))}},
			{"title", conversation.UpdateInput{Title: ptr(strings.Repeat("t", conversation.MaxTitle+1))}},
			{"metadata", conversation.UpdateInput{Metadata: many}},
			{"agent_id", conversation.UpdateInput{AgentID: ptr(uuid.New()), Title: ptr("changed")}},
		} {
			_, err := e.svc.Update(e.ctx, c.ID, tc.in)
			testkit.RequireField(t, err, tc.field)
		}
		got, err := e.svc.Get(e.ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, "t", got.Title, "a refused update changed nothing")
	})

	t.Run("ErrAgentNotReadable", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		theirs, err := e.agents.Create(e.As(), agent.Input{Name: ptr("a"), Model: ptr("echo")})
		require.NoError(t, err)
		_, err = e.svc.Create(e.ctx, conversation.CreateInput{AgentID: &theirs.ID})
		testkit.RequireField(t, err, "agent_id")
		e.ShareWith(e.ctx, authz.Agent, theirs.ID, share.LevelViewer)
		c, err := e.svc.Create(e.ctx, conversation.CreateInput{AgentID: &theirs.ID})
		require.NoError(t, err, "a viewer share of the agent is enough")
		require.Equal(t, theirs.ID, *c.AgentID)
	})

	t.Run("ErrOtherTenant", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		other := e.NewTenant()
		_, err := e.svc.Create(e.ctx, conversation.CreateInput{TenantID: &other})
		testkit.RequireCode(t, err, fault.NotFound)
		c := e.conv(conversation.CreateInput{})
		e.say(c.ID, "secret")
		admin := e.AsUser(other, uuid.New(), nil, authz.ConversationManage, authz.LLMUse)
		_, err = e.svc.ListMessages(admin, c.ID, "", 10)
		testkit.RequireCode(t, err, fault.NotFound)
		_, err = e.svc.AppendMessage(admin, c.ID, conversation.AppendInput{Role: message.RoleUser, Content: "planted"})
		testkit.RequireCode(t, err, fault.NotFound)
		p, err := e.svc.List(admin, conversation.ListInput{})
		require.NoError(t, err)
		require.Empty(t, p.Items)
		require.Equal(t, []string{"user: secret"}, e.messages(c.ID))
	})

	t.Run("OKListByStatus", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		a, b := e.conv(conversation.CreateInput{}), e.conv(conversation.CreateInput{})
		archived := entconv.StatusArchived
		_, err := e.svc.Update(e.ctx, a.ID, conversation.UpdateInput{Status: &archived})
		require.NoError(t, err)
		p, err := e.svc.List(e.ctx, conversation.ListInput{Status: &archived})
		require.NoError(t, err)
		require.Len(t, p.Items, 1)
		require.Equal(t, a.ID, p.Items[0].ID)
		p, err = e.svc.List(e.ctx, conversation.ListInput{})
		require.NoError(t, err)
		require.Len(t, p.Items, 2)
		require.Equal(t, b.ID, p.Items[0].ID, "newest first")
	})
}

func TestMessages(t *testing.T) {
	t.Parallel()

	t.Run("OKOldestFirstPaged", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		c := e.conv(conversation.CreateInput{})
		var want []uuid.UUID
		for _, s := range []string{"1", "2", "3", "4", "5"} {
			want = append(want, e.say(c.ID, s).ID)
		}
		reader := e.Share(authz.Conversation, c.ID, share.LevelViewer)
		var got []uuid.UUID
		cursor := ""
		for range 5 {
			p, err := e.svc.ListMessages(reader, c.ID, cursor, 2)
			require.NoError(t, err)
			for _, m := range p.Items {
				got = append(got, m.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		require.Equal(t, want, got)
		_, err := e.svc.ListMessages(e.As(), c.ID, "", 2)
		testkit.RequireCode(t, err, fault.NotFound)
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		c := e.conv(conversation.CreateInput{})
		for _, tc := range []struct {
			field string
			in    conversation.AppendInput
		}{
			{"role", conversation.AppendInput{Role: "tool", Content: "x"}},
			{"content", conversation.AppendInput{Role: message.RoleUser}},
			{"content", conversation.AppendInput{Role: message.RoleUser, Content: strings.Repeat("c", conversation.MaxContent+1)}},
		} {
			_, err := e.svc.AppendMessage(e.ctx, c.ID, tc.in)
			testkit.RequireField(t, err, tc.field)
		}
		_, err := e.svc.AppendMessage(e.ctx, c.ID, conversation.AppendInput{Role: message.RoleSystem, Content: strings.Repeat("é", conversation.MaxContent)})
		require.NoError(t, err, "characters, not bytes")
	})

	t.Run("OKShareLevels", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		c := e.conv(conversation.CreateInput{})
		reader := e.Share(authz.Conversation, c.ID, share.LevelViewer)
		_, err := e.svc.AppendMessage(reader, c.ID, conversation.AppendInput{Role: message.RoleUser, Content: "x"})
		testkit.RequireCode(t, err, fault.Forbidden)
		editor := e.Share(authz.Conversation, c.ID, share.LevelEditor)
		_, err = e.svc.AppendMessage(editor, c.ID, conversation.AppendInput{Role: message.RoleUser, Content: "y"})
		require.NoError(t, err)
		require.Equal(t, []string{"user: y"}, e.messages(c.ID))
		require.Len(t, e.events.messages, 1, "the message was announced")
	})
}

func TestReply(t *testing.T) {
	t.Parallel()

	// The agent's context documents go to the model only as far as the
	// person asking may read them.
	t.Run("OKContextLimitedToTheCaller", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		author := e.As()
		private, err := e.docs.Create(author, document.Input{Title: ptr("Private"), Content: ptr("the secret")})
		require.NoError(t, err)
		public, err := e.docs.Create(author, document.Input{Title: ptr("Public"), Content: ptr("the handbook")})
		require.NoError(t, err)
		e.ShareWith(e.ctx, authz.Document, public.ID, share.LevelViewer)
		ag, err := e.agents.Create(author, agent.Input{Name: ptr("a"), Model: ptr("m1"), Instructions: ptr("Be kind."),
			Temperature: ptr(0.3), MaxTokens: ptr(42), DocumentIDs: &[]uuid.UUID{private.ID, public.ID}})
		require.NoError(t, err)
		e.ShareWith(e.ctx, authz.Agent, ag.ID, share.LevelViewer)
		c := e.conv(conversation.CreateInput{AgentID: &ag.ID})
		e.say(c.ID, "earlier")

		out, err := e.svc.AppendMessage(e.userCtx, c.ID, conversation.AppendInput{Role: message.RoleUser, Content: "question", Reply: true})
		require.NoError(t, err)
		require.Equal(t, message.RoleAssistant, out.Reply.Role)
		require.Equal(t, "hello", out.Reply.Content)
		require.Len(t, e.model.asked, 1)
		r := e.model.asked[0]
		require.Equal(t, "m1", r.Model)
		require.Equal(t, 42, r.MaxTokens)
		require.Equal(t, 0.3, *r.Temperature)
		require.Len(t, r.Messages, 3)
		sys := r.Messages[0]
		require.Equal(t, llm.RoleSystem, sys.Role)
		require.Contains(t, sys.Content, "Be kind.")
		require.Contains(t, sys.Content, "the handbook")
		require.NotContains(t, sys.Content, "the secret", "a document the caller cannot read reached the model")
		require.Equal(t, []llm.Message{{Role: "user", Content: "earlier"}, {Role: "user", Content: "question"}}, r.Messages[1:])

		require.Equal(t, []string{"user: earlier", "user: question", "assistant: hello"}, e.messages(c.ID))
		require.Equal(t, []string{conversation.ActionMessageAppend}, e.Actions(out.Reply.ID), "the reply is audited too")
		require.Equal(t, []string{"hel", "lo"}, e.events.deltas)
		require.Len(t, e.events.messages, 3)
	})

	t.Run("ErrRefusedStoresNothing", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ag, err := e.agents.Create(e.ctx, agent.Input{Name: ptr("a"), Model: ptr("m")})
		require.NoError(t, err)
		theirs, err := e.agents.Create(e.As(), agent.Input{Name: ptr("b"), Model: ptr("m")})
		require.NoError(t, err)
		e.ShareWith(e.ctx, authz.Agent, theirs.ID, share.LevelViewer)
		withAgent := e.conv(conversation.CreateInput{AgentID: &ag.ID})
		noAgent := e.conv(conversation.CreateInput{})
		lostAgent := e.conv(conversation.CreateInput{AgentID: &theirs.ID})
		// The agent's share is withdrawn after the conversation chose it.
		_, err = e.Client.Share.Delete().Where(share.ResourceID(theirs.ID)).Exec(e.System())
		require.NoError(t, err)
		ask := conversation.AppendInput{Role: message.RoleUser, Content: "q", Reply: true}

		_, err = e.svc.AppendMessage(e.ctx, withAgent.ID, ask)
		testkit.RequireCode(t, err, fault.Forbidden) // no llm.use
		_, err = e.svc.AppendMessage(e.userCtx, noAgent.ID, ask)
		testkit.RequireField(t, err, "reply")
		_, err = e.svc.AppendMessage(e.userCtx, lostAgent.ID, ask)
		testkit.RequireField(t, err, "reply")
		e.model.err = fault.New(fault.Unavailable, "provider down")
		_, err = e.svc.AppendMessage(e.userCtx, withAgent.ID, ask)
		testkit.RequireCode(t, err, fault.Unavailable)
		require.True(t, errors.Is(err, e.model.err))

		for _, c := range []uuid.UUID{withAgent.ID, noAgent.ID, lostAgent.ID} {
			require.Empty(t, e.messages(c), "a refused or failed reply stored the message")
		}
		require.Len(t, e.model.asked, 1, "only the last one reached the model")
		require.Empty(t, e.events.messages)
	})
}

// TestAppendDeletedAfterCheck: the access check answers from a cache that
// still holds the conversation (deleted by a writer the cache did not hear
// of), and vouches for it, so the message's policy does not look it up; the
// foreign key refuses the insert, the answer is "not found" and nothing is
// stored (on each database: their foreign-key errors differ).
func TestAppendDeletedAfterCheck(t *testing.T) {
	t.Parallel()
	for _, db := range testkit.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			r := testkit.NewResourcesOn(t, db.Open(t))
			cached := authz.NewAccess(r.Client, authz.WithCache(authz.NewResolver(r.Client, cache.NewLocalBus(), slog.New(slog.DiscardHandler))))
			svc := conversation.NewService(r.Client, r.Audit, cached, &replier{})
			ctx := r.As()
			c, err := svc.Create(ctx, conversation.CreateInput{})
			require.NoError(t, err)
			_, err = svc.Get(ctx, c.ID) // the owner is now cached
			require.NoError(t, err)
			_, err = svc.AppendMessage(ctx, c.ID, conversation.AppendInput{Role: message.RoleUser, Content: "kept"})
			require.NoError(t, err)
			_, err = r.Client.Message.Delete().Where(message.ConversationID(c.ID)).Exec(r.System())
			require.NoError(t, err)
			require.NoError(t, r.Client.Conversation.DeleteOneID(c.ID).Exec(r.System()))
			require.NoError(t, cached.Require(ctx, authz.Conversation, c.ID, authz.Editor), "the stale cache still allows it")
			_, err = svc.AppendMessage(ctx, c.ID, conversation.AppendInput{Role: message.RoleUser, Content: "lost"})
			testkit.RequireCode(t, err, fault.NotFound)
			n, err := r.Client.Message.Query().Where(message.ConversationID(c.ID)).Count(r.System())
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}
