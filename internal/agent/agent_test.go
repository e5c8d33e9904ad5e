package agent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/share"
	"atrium/internal/agent"
	"atrium/internal/authz"
	"atrium/internal/document"
	"atrium/internal/fault"
	"atrium/internal/knowledge"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type env struct {
	*testkit.Resources
	svc    *agent.Service
	docs   *document.Service
	graphs *knowledge.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	r := testkit.NewResources(t)
	return &env{Resources: r, svc: agent.NewService(r.Client, r.Audit, r.Access),
		docs:   document.NewService(r.Client, r.DB.Dialect, r.Audit, r.Access, 1<<20),
		graphs: knowledge.NewService(r.Client, r.Audit, r.Access)}
}

func ptr[T any](v T) *T { return &v }

func valid() agent.Input { return agent.Input{Name: ptr("Helper"), Model: ptr("echo")} }

// doc is a document owned by the user of ctx.
func (e *env) doc(t *testing.T, ctx context.Context) *ent.Document {
	t.Helper()
	d, err := e.docs.Create(ctx, document.Input{Title: ptr("d"), Content: ptr("c")})
	require.NoError(t, err)
	return d
}

func (e *env) graph(t *testing.T) *ent.KnowledgeGraph {
	t.Helper()
	g, err := e.graphs.Create(e.As(), knowledge.GraphInput{Name: ptr("g")})
	require.NoError(t, err)
	return g
}

func TestAgent(t *testing.T) {
	t.Parallel()

	t.Run("OKLifecycleAudited", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		in := valid()
		in.Name, in.Description, in.Temperature, in.MaxTokens = ptr("  Helper  "), ptr("helps"), ptr(0.5), ptr(100)
		a, err := e.svc.Create(ctx, in)
		require.NoError(t, err)
		require.Equal(t, "Helper", a.Name, "the name is trimmed")
		a, err = e.svc.Update(ctx, a.ID, agent.Input{Instructions: ptr("be brief")})
		require.NoError(t, err)
		require.Equal(t, "be brief", a.Instructions)
		require.Equal(t, "helps", a.Description, "a nil field stays")
		require.Equal(t, 100, *a.MaxTokens)
		require.NoError(t, e.svc.Delete(ctx, a.ID))
		require.Equal(t, []string{agent.ActionCreated, agent.ActionUpdated, agent.ActionDeleted}, e.Actions(a.ID))
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		many := make([]uuid.UUID, agent.MaxDocuments+1)
		for i := range many {
			many[i] = uuid.New()
		}
		for field, edit := range map[string]func(*agent.Input){
			"name":                func(in *agent.Input) { in.Name = nil },
			"name ":               func(in *agent.Input) { in.Model = nil },
			"name  ":              func(in *agent.Input) { in.Name = ptr("   ") },
			"name   ":             func(in *agent.Input) { in.Name = ptr(strings.Repeat("é", 201)) },
			"description":         func(in *agent.Input) { in.Description = ptr(strings.Repeat("d", 2001)) },
			"instructions":        func(in *agent.Input) { in.Instructions = ptr(strings.Repeat("i", agent.MaxInstructions+1)) },
			"model":               func(in *agent.Input) { in.Model = ptr("") },
			"model ":              func(in *agent.Input) { in.Model = ptr(strings.Repeat("m", 201)) },
			"temperature":         func(in *agent.Input) { in.Temperature = ptr(2.01) },
			"temperature ":        func(in *agent.Input) { in.Temperature = ptr(-0.1) },
			"max_tokens":          func(in *agent.Input) { in.MaxTokens = ptr(0) },
			"max_tokens ":         func(in *agent.Input) { in.MaxTokens = ptr(1_000_001) },
			"document_ids":        func(in *agent.Input) { in.DocumentIDs = &many },
			"knowledge_graph_ids": func(in *agent.Input) { in.GraphIDs = &many },
		} {
			in := valid()
			edit(&in)
			_, err := e.svc.Create(ctx, in)
			testkit.RequireField(t, err, strings.TrimSpace(field))
		}
		list, err := e.svc.List(ctx, "", 10)
		require.NoError(t, err)
		require.Empty(t, list.Items, "a refused create stored nothing")
	})

	t.Run("OKLimitsCountCharacters", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		in := agent.Input{Name: ptr(strings.Repeat("é", 200)), Model: ptr(strings.Repeat("é", 200)),
			Description: ptr(strings.Repeat("é", 2000)), Instructions: ptr(strings.Repeat("é", agent.MaxInstructions)),
			Temperature: ptr(2.0), MaxTokens: ptr(1_000_000)}
		_, err := e.svc.Create(e.As(), in)
		require.NoError(t, err, "limits are characters, not bytes (the API's maxLength)")
	})

	t.Run("ErrInvalidUpdateChangesNothing", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		a, err := e.svc.Create(ctx, valid())
		require.NoError(t, err)
		for _, in := range []agent.Input{{Name: ptr(" ")}, {Model: ptr("")}, {Temperature: ptr(3.0), Name: ptr("New")}} {
			_, err = e.svc.Update(ctx, a.ID, in)
			testkit.RequireCode(t, err, fault.Invalid)
		}
		got, err := e.svc.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "Helper", got.Name)
		require.Equal(t, "echo", got.Model)
		require.Equal(t, []string{agent.ActionCreated}, e.Actions(a.ID))
	})

	// The documents and graphs an agent brings into its context must be
	// ones its author may read: else sharing an agent would leak them.
	t.Run("ErrUnreadableContext", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		theirs, graph := e.doc(t, e.As()), e.graph(t)
		other := e.NewTenant()
		foreign, err := e.docs.Create(e.AsUser(other, uuid.New(), nil), document.Input{Title: ptr("f"), Content: ptr("c")})
		require.NoError(t, err)
		for _, ids := range [][]uuid.UUID{{theirs.ID}, {foreign.ID}, {uuid.New()}} {
			in := valid()
			in.DocumentIDs = &ids
			_, err := e.svc.Create(ctx, in)
			testkit.RequireField(t, err, "document_ids")
		}
		in := valid()
		in.GraphIDs = &[]uuid.UUID{graph.ID}
		_, err = e.svc.Create(ctx, in)
		testkit.RequireField(t, err, "knowledge_graph_ids")

		a, err := e.svc.Create(ctx, valid())
		require.NoError(t, err)
		_, err = e.svc.Update(ctx, a.ID, agent.Input{Name: ptr("Renamed"), DocumentIDs: &[]uuid.UUID{theirs.ID}})
		testkit.RequireField(t, err, "document_ids")
		got, err := e.svc.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "Helper", got.Name, "a refused update changed nothing")
		require.Empty(t, got.DocumentIds)
	})

	t.Run("OKReadableContext", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		ctx := e.As()
		mine := e.doc(t, ctx)
		shared, graph := e.doc(t, e.As()), e.graph(t)
		reader := e.Share(authz.Document, shared.ID, share.LevelViewer)
		e.ShareWith(reader, authz.KnowledgeGraph, graph.ID, share.LevelViewer)

		in := valid()
		in.DocumentIDs, in.GraphIDs = &[]uuid.UUID{shared.ID}, &[]uuid.UUID{graph.ID}
		a, err := e.svc.Create(reader, in)
		require.NoError(t, err, "a viewer share is enough to refer to it")
		require.Equal(t, []uuid.UUID{shared.ID}, a.DocumentIds)
		require.Equal(t, []uuid.UUID{graph.ID}, a.KnowledgeGraphIds)

		a, err = e.svc.Create(ctx, valid())
		require.NoError(t, err)
		a, err = e.svc.Update(ctx, a.ID, agent.Input{DocumentIDs: &[]uuid.UUID{mine.ID}})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{mine.ID}, a.DocumentIds)
		a, err = e.svc.Update(ctx, a.ID, agent.Input{DocumentIDs: &[]uuid.UUID{}})
		require.NoError(t, err)
		require.Empty(t, a.DocumentIds, "an empty list clears them")
	})

	t.Run("ErrEditorChecksWithTheirOwnAccess", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		owner := e.As()
		mine := e.doc(t, owner)
		a, err := e.svc.Create(owner, valid())
		require.NoError(t, err)
		editor := e.Share(authz.Agent, a.ID, share.LevelEditor)
		_, err = e.svc.Update(editor, a.ID, agent.Input{DocumentIDs: &[]uuid.UUID{mine.ID}})
		testkit.RequireField(t, err, "document_ids")
		_, err = e.svc.Update(editor, a.ID, agent.Input{Name: ptr("Edited")})
		require.NoError(t, err)
		viewer := e.Share(authz.Agent, a.ID, share.LevelViewer)
		_, err = e.svc.Update(viewer, a.ID, agent.Input{Name: ptr("Viewed")})
		testkit.RequireCode(t, err, fault.Forbidden)
	})
}
