package knowledge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/kgedge"
	"atrium/ent/kgnode"
	"atrium/ent/share"
	"atrium/internal/authz"
	"atrium/internal/document"
	"atrium/internal/fault"
	"atrium/internal/knowledge"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type env struct {
	*testkit.Resources
	svc  *knowledge.Service
	docs *document.Service
	t    *testing.T
	ctx  context.Context // the owner of the graphs the test makes
}

func setup(t *testing.T) *env {
	t.Helper()
	r := testkit.NewResources(t)
	return &env{Resources: r, t: t, ctx: r.As(), svc: knowledge.NewService(r.Client, r.Audit, r.Access),
		docs: document.NewService(r.Client, r.DB.Dialect, r.Audit, r.Access, 1<<20)}
}

func ptr[T any](v T) *T { return &v }

func (e *env) graph() uuid.UUID {
	e.t.Helper()
	g, err := e.svc.Create(e.ctx, knowledge.GraphInput{Name: ptr("People")})
	require.NoError(e.t, err)
	return g.ID
}

func (e *env) node(g uuid.UUID, label string) uuid.UUID {
	e.t.Helper()
	n, err := e.svc.AddNode(e.ctx, g, knowledge.NodeInput{Type: "person", Label: label})
	require.NoError(e.t, err)
	return n.ID
}

func (e *env) edge(g, from, to uuid.UUID) uuid.UUID {
	e.t.Helper()
	ed, err := e.svc.AddEdge(e.ctx, g, knowledge.EdgeInput{SourceID: from, TargetID: to, Type: "knows"})
	require.NoError(e.t, err)
	return ed.ID
}

// counter is a query that counts.
type counter interface {
	Count(context.Context) (int, error)
}

func (e *env) count(q counter) int {
	e.t.Helper()
	n, err := q.Count(e.System())
	require.NoError(e.t, err)
	return n
}

// around returns the sorted node and edge ids of a neighbourhood.
func (e *env) around(g, n uuid.UUID, depth int) ([]uuid.UUID, []uuid.UUID) {
	e.t.Helper()
	nb, err := e.svc.Neighbourhood(e.ctx, g, n, depth)
	require.NoError(e.t, err)
	var nodes, edges []uuid.UUID
	for _, x := range nb.Nodes {
		nodes = append(nodes, x.ID)
	}
	for _, x := range nb.Edges {
		edges = append(edges, x.ID)
	}
	return sorted(nodes), sorted(edges)
}

func sorted(ids []uuid.UUID) []uuid.UUID {
	out := append([]uuid.UUID{}, ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].String() < out[i].String() {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestGraph(t *testing.T) {
	t.Parallel()

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		for _, tc := range []struct {
			field string
			in    knowledge.GraphInput
		}{
			{"name", knowledge.GraphInput{}},
			{"name", knowledge.GraphInput{Name: ptr("  ")}},
			{"name", knowledge.GraphInput{Name: ptr(strings.Repeat("é", 201))}},
			{"description", knowledge.GraphInput{Name: ptr("g"), Description: ptr(strings.Repeat("d", 2001))}},
		} {
			_, err := e.svc.Create(e.ctx, tc.in)
			testkit.RequireField(t, err, tc.field)
		}
		_, err := e.svc.Create(e.ctx, knowledge.GraphInput{Name: ptr(strings.Repeat("é", 200)), Description: ptr(strings.Repeat("é", 2000))})
		require.NoError(t, err, "characters, not bytes")
		g := e.graph()
		for _, in := range []knowledge.GraphInput{{Name: ptr(" ")}, {Description: ptr(strings.Repeat("d", 2001))}} {
			_, err = e.svc.Update(e.ctx, g, in)
			testkit.RequireCode(t, err, fault.Invalid)
		}
		got, err := e.svc.Get(e.ctx, g)
		require.NoError(t, err)
		require.Equal(t, "People", got.Name)
	})

	t.Run("ErrUnreadableDocuments", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		theirs, err := e.docs.Create(e.As(), document.Input{Title: ptr("t"), Content: ptr("c")})
		require.NoError(t, err)
		_, err = e.svc.Create(e.ctx, knowledge.GraphInput{Name: ptr("g"), DocumentIDs: &[]uuid.UUID{theirs.ID}})
		testkit.RequireField(t, err, "document_ids")
		g := e.graph()
		_, err = e.svc.Update(e.ctx, g, knowledge.GraphInput{DocumentIDs: &[]uuid.UUID{uuid.New()}})
		testkit.RequireField(t, err, "document_ids")
		_, err = e.svc.AddNode(e.ctx, g, knowledge.NodeInput{Type: "t", Label: "l", DocumentID: &theirs.ID})
		testkit.RequireField(t, err, "document_ids")
		require.Zero(t, e.count(e.Client.KGNode.Query()))

		e.ShareWith(e.ctx, authz.Document, theirs.ID, share.LevelViewer)
		n, err := e.svc.AddNode(e.ctx, g, knowledge.NodeInput{Type: "t", Label: "l", DocumentID: &theirs.ID})
		require.NoError(t, err, "a shared document may be referred to")
		require.Equal(t, theirs.ID, *n.DocumentID)
	})

	t.Run("OKDeleteTakesNodesAndEdges", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g, keep := e.graph(), e.graph()
		e.edge(g, e.node(g, "a"), e.node(g, "b"))
		e.edge(keep, e.node(keep, "c"), e.node(keep, "d"))
		require.NoError(t, e.svc.Delete(e.ctx, g))
		require.Zero(t, e.count(e.Client.KGEdge.Query().Where(kgedge.GraphID(g))))
		require.Zero(t, e.count(e.Client.KGNode.Query().Where(kgnode.GraphID(g))))
		require.Equal(t, 1, e.count(e.Client.KGEdge.Query()), "another graph's edges stay")
		require.Equal(t, 2, e.count(e.Client.KGNode.Query()))
	})
}

func TestNodesAndEdges(t *testing.T) {
	t.Parallel()

	t.Run("OKAudited", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a, b := e.node(g, "a"), e.node(g, "b")
		ab := e.edge(g, a, b)
		require.NoError(t, e.svc.RemoveEdge(e.ctx, g, ab))
		require.NoError(t, e.svc.RemoveNode(e.ctx, g, b))
		require.Equal(t, []string{knowledge.ActionCreated, knowledge.ActionNodeAdded, knowledge.ActionNodeAdded,
			knowledge.ActionEdgeAdded, knowledge.ActionEdgeRemoved, knowledge.ActionNodeRemoved}, e.Actions(g))
		evs, err := e.Client.AuditEvent.Query().Where(auditevent.ResourceID(g)).Order(ent.Asc(auditevent.FieldSeq)).All(e.System())
		require.NoError(t, err)
		require.Equal(t, map[string]string{"node_id": a.String()}, evs[1].Details, "the event names the node")
		require.Equal(t, map[string]string{"edge_id": ab.String()}, evs[4].Details)
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		for _, tc := range []struct {
			field string
			in    knowledge.NodeInput
		}{
			{"type", knowledge.NodeInput{Label: "l"}},
			{"type", knowledge.NodeInput{Type: " ", Label: "l"}},
			{"type", knowledge.NodeInput{Type: strings.Repeat("é", 101), Label: "l"}},
			{"label", knowledge.NodeInput{Type: "t"}},
			{"label", knowledge.NodeInput{Type: "t", Label: strings.Repeat("é", 501)}},
		} {
			_, err := e.svc.AddNode(e.ctx, g, tc.in)
			testkit.RequireField(t, err, tc.field)
		}
		_, err := e.svc.AddNode(e.ctx, g, knowledge.NodeInput{Type: strings.Repeat("é", 100), Label: strings.Repeat("é", 500)})
		require.NoError(t, err, "characters, not bytes")
		a := e.node(g, "a")
		_, err = e.svc.AddEdge(e.ctx, g, knowledge.EdgeInput{SourceID: a, TargetID: a, Type: ""})
		testkit.RequireField(t, err, "type")
	})

	// An edge joins two nodes of its own graph: not another graph's, not
	// made-up ids.
	t.Run("ErrEdgeOutsideTheGraph", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g, other := e.graph(), e.graph()
		a, b := e.node(g, "a"), e.node(g, "b")
		x := e.node(other, "x")
		for _, in := range []knowledge.EdgeInput{
			{SourceID: a, TargetID: x}, {SourceID: x, TargetID: a}, {SourceID: x, TargetID: x},
			{SourceID: a, TargetID: uuid.New()}, {SourceID: uuid.New(), TargetID: uuid.New()},
		} {
			in.Type = "knows"
			_, err := e.svc.AddEdge(e.ctx, g, in)
			testkit.RequireField(t, err, "source_id")
		}
		_, err := e.svc.AddEdge(e.ctx, other, knowledge.EdgeInput{SourceID: a, TargetID: b, Type: "knows"})
		testkit.RequireField(t, err, "source_id")
		require.Zero(t, e.count(e.Client.KGEdge.Query()))
		require.NotContains(t, e.Actions(g), knowledge.ActionEdgeAdded, "a refused edge is not audited")

		loop, err := e.svc.AddEdge(e.ctx, g, knowledge.EdgeInput{SourceID: a, TargetID: a, Type: "self"})
		require.NoError(t, err, "a node may relate to itself")
		require.Equal(t, a, loop.TargetID)
	})

	t.Run("OKRemoveNodeTakesItsEdges", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a, b, c := e.node(g, "a"), e.node(g, "b"), e.node(g, "c")
		e.edge(g, a, b)
		e.edge(g, c, a)
		bc := e.edge(g, b, c)
		require.NoError(t, e.svc.RemoveNode(e.ctx, g, a))
		es, err := e.Client.KGEdge.Query().IDs(e.System())
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{bc}, es, "edges from and to the node went with it, no other")
		require.Equal(t, 2, e.count(e.Client.KGNode.Query()))
	})

	t.Run("ErrRemoveThroughAnotherGraph", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g, other := e.graph(), e.graph()
		a, b := e.node(g, "a"), e.node(g, "b")
		ab := e.edge(g, a, b)
		testkit.RequireCode(t, e.svc.RemoveNode(e.ctx, other, a), fault.NotFound)
		testkit.RequireCode(t, e.svc.RemoveEdge(e.ctx, other, ab), fault.NotFound)
		testkit.RequireCode(t, e.svc.RemoveNode(e.ctx, g, uuid.New()), fault.NotFound)
		require.Equal(t, 1, e.count(e.Client.KGEdge.Query()), "nothing was removed")
		require.Equal(t, 2, e.count(e.Client.KGNode.Query()))
		require.Equal(t, []string{knowledge.ActionCreated}, e.Actions(other), "a refused removal is not audited")
	})

	t.Run("OKShareLevels", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a := e.node(g, "a")
		reader := e.Share(authz.KnowledgeGraph, g, share.LevelViewer)
		_, err := e.svc.Neighbourhood(reader, g, a, 1)
		require.NoError(t, err)
		_, err = e.svc.AddNode(reader, g, knowledge.NodeInput{Type: "t", Label: "l"})
		testkit.RequireCode(t, err, fault.Forbidden)
		_, err = e.svc.AddEdge(reader, g, knowledge.EdgeInput{SourceID: a, TargetID: a, Type: "t"})
		testkit.RequireCode(t, err, fault.Forbidden)
		testkit.RequireCode(t, e.svc.RemoveNode(reader, g, a), fault.Forbidden)
		editor := e.Share(authz.KnowledgeGraph, g, share.LevelEditor)
		b, err := e.svc.AddNode(editor, g, knowledge.NodeInput{Type: "t", Label: "b"})
		require.NoError(t, err)
		ab, err := e.svc.AddEdge(editor, g, knowledge.EdgeInput{SourceID: a, TargetID: b.ID, Type: "t"})
		require.NoError(t, err)
		require.NoError(t, e.svc.RemoveEdge(editor, g, ab.ID))
	})

	t.Run("ErrOtherTenant", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a := e.node(g, "a")
		admin := e.AsUser(e.NewTenant(), uuid.New(), nil, authz.KnowledgeManage)
		_, err := e.svc.AddNode(admin, g, knowledge.NodeInput{Type: "t", Label: "planted"})
		testkit.RequireCode(t, err, fault.NotFound)
		_, err = e.svc.Neighbourhood(admin, g, a, 1)
		testkit.RequireCode(t, err, fault.NotFound)
		testkit.RequireCode(t, e.svc.RemoveNode(admin, g, a), fault.NotFound)
		require.Equal(t, 1, e.count(e.Client.KGNode.Query()))
	})
}

func TestNeighbourhood(t *testing.T) {
	t.Parallel()

	// a - b - c - d - e, a detour b - f - c, and g alone.
	t.Run("OKDepth", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a, b, c, d, x, f, alone := e.node(g, "a"), e.node(g, "b"), e.node(g, "c"), e.node(g, "d"), e.node(g, "e"), e.node(g, "f"), e.node(g, "g")
		ab, bc, cd, de := e.edge(g, a, b), e.edge(g, b, c), e.edge(g, c, d), e.edge(g, d, x)
		bf, fc := e.edge(g, b, f), e.edge(g, f, c)

		nodes, edges := e.around(g, a, 0)
		require.Equal(t, sorted([]uuid.UUID{a, b}), nodes, "depth 0 means 1")
		require.Equal(t, []uuid.UUID{ab}, edges)
		nodes, edges = e.around(g, b, 1)
		require.Equal(t, sorted([]uuid.UUID{a, b, c, f}), nodes, "edges are followed both ways")
		require.Equal(t, sorted([]uuid.UUID{ab, bc, bf, fc}), edges, "with the edges between the nodes found")
		nodes, edges = e.around(g, a, knowledge.MaxDepth)
		require.Equal(t, sorted([]uuid.UUID{a, b, c, d, f}), nodes)
		require.Equal(t, sorted([]uuid.UUID{ab, bc, cd, bf, fc}), edges)
		require.NotContains(t, edges, de, "an edge to a node beyond the depth is left out")
		nodes, edges = e.around(g, alone, 2)
		require.Equal(t, []uuid.UUID{alone}, nodes)
		require.Empty(t, edges)
	})

	t.Run("OKTriangle", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a, b, c := e.node(g, "a"), e.node(g, "b"), e.node(g, "c")
		ab, ac, bc := e.edge(g, a, b), e.edge(g, a, c), e.edge(g, b, c)
		nodes, edges := e.around(g, a, 1)
		require.Equal(t, sorted([]uuid.UUID{a, b, c}), nodes)
		require.Equal(t, sorted([]uuid.UUID{ab, ac, bc}), edges, "the edges between the nodes, also those between two neighbours")
	})

	t.Run("ErrDepth", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g := e.graph()
		a := e.node(g, "a")
		for _, d := range []int{-1, knowledge.MaxDepth + 1} {
			_, err := e.svc.Neighbourhood(e.ctx, g, a, d)
			testkit.RequireField(t, err, "depth")
		}
	})

	t.Run("ErrNodeOfAnotherGraph", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		g, other := e.graph(), e.graph()
		x := e.node(other, "x")
		_, err := e.svc.Neighbourhood(e.ctx, g, x, 1)
		testkit.RequireCode(t, err, fault.NotFound)
		_, err = e.svc.Neighbourhood(e.ctx, g, uuid.New(), 1)
		testkit.RequireCode(t, err, fault.NotFound)
	})
}
