package httpapi_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/authz"
)

func TestKnowledgeGraphs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx, a := bu.ctx, bu.a.Client
		g, err := a.CreateKnowledgeGraph(ctx, &api.KnowledgeGraphCreate{Name: "People"})
		require.NoError(t, err)
		gid := g.ID
		node := func(label string) api.KGNode {
			n, err := a.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: "person", Label: label}, api.AddKnowledgeNodeParams{GraphId: gid})
			require.NoError(t, err)
			return *n
		}
		ada, bob, cy, dee := node("Ada"), node("Bob"), node("Cy"), node("Dee")
		link := func(x, y api.KGNode) api.KGEdge {
			e, err := a.AddKnowledgeEdge(ctx, &api.KGEdgeCreate{SourceID: x.ID, TargetID: y.ID, Type: "knows"}, api.AddKnowledgeEdgeParams{GraphId: gid})
			require.NoError(t, err)
			return *e
		}
		link(ada, bob)
		bc := link(bob, cy)
		link(cy, dee)
		t.Run("OK/Neighbourhood", func(t *testing.T) {
			nb, err := a.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: gid, NodeId: bob.ID})
			require.NoError(t, err)
			require.Len(t, nb.Nodes, 3) // Ada, Bob, Cy
			require.Len(t, nb.Edges, 2)
			nb, err = a.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: gid, NodeId: ada.ID, Depth: api.NewOptInt(3)})
			require.NoError(t, err)
			require.Len(t, nb.Nodes, 4)
			require.Len(t, nb.Edges, 3)
		})
		t.Run("OK/RemoveEdgeAndNode", func(t *testing.T) {
			require.NoError(t, a.RemoveKnowledgeEdge(ctx, api.RemoveKnowledgeEdgeParams{GraphId: gid, EdgeId: bc.ID}))
			nb, err := a.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: gid, NodeId: ada.ID, Depth: api.NewOptInt(3)})
			require.NoError(t, err)
			require.Len(t, nb.Nodes, 2)
			require.NoError(t, a.RemoveKnowledgeNode(ctx, api.RemoveKnowledgeNodeParams{GraphId: gid, NodeId: dee.ID}))
			_, err = a.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: gid, NodeId: dee.ID})
			requireStatus(t, err, 404)
		})
		t.Run("ErrEdgeToAnotherGraphsNode", func(t *testing.T) {
			other, err := a.CreateKnowledgeGraph(ctx, &api.KnowledgeGraphCreate{Name: "Other"})
			require.NoError(t, err)
			_, err = a.AddKnowledgeEdge(ctx, &api.KGEdgeCreate{SourceID: ada.ID, TargetID: bob.ID, Type: "knows"}, api.AddKnowledgeEdgeParams{GraphId: other.ID})
			requireStatus(t, err, 400)
		})
		t.Run("ErrCrossTenant", func(t *testing.T) {
			b := bu.b.Client
			_, err := b.GetKnowledgeGraph(ctx, api.GetKnowledgeGraphParams{GraphId: gid})
			requireStatus(t, err, 404)
			_, err = b.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: "x", Label: "planted"}, api.AddKnowledgeNodeParams{GraphId: gid})
			requireStatus(t, err, 404)
			_, err = b.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: gid, NodeId: ada.ID})
			requireStatus(t, err, 404)
			requireStatus(t, b.DeleteKnowledgeGraph(ctx, api.DeleteKnowledgeGraphParams{GraphId: gid}), 404)
		})
		t.Run("OK/SharingRule", func(t *testing.T) {
			m := bu.env.Member(bu.tenantA, authz.RoleMemberID)
			_, err := m.Client.GetKnowledgeGraph(ctx, api.GetKnowledgeGraphParams{GraphId: gid})
			requireStatus(t, err, 404)
			_, err = a.ShareKnowledgeGraph(ctx, &api.ShareCreate{SubjectType: api.ShareSubjectTypeUser, SubjectID: m.UserID, Level: api.ShareLevelViewer},
				api.ShareKnowledgeGraphParams{GraphId: gid})
			require.NoError(t, err)
			_, err = m.Client.GetKnowledgeNeighbourhood(ctx, api.GetKnowledgeNeighbourhoodParams{GraphId: gid, NodeId: ada.ID})
			require.NoError(t, err)
			_, err = m.Client.AddKnowledgeNode(ctx, &api.KGNodeCreate{Type: "x", Label: "y"}, api.AddKnowledgeNodeParams{GraphId: gid})
			requireStatus(t, err, 403)
		})
		t.Run("OK/Delete", func(t *testing.T) {
			require.NoError(t, a.DeleteKnowledgeGraph(ctx, api.DeleteKnowledgeGraphParams{GraphId: gid}))
			_, err := a.GetKnowledgeGraph(ctx, api.GetKnowledgeGraphParams{GraphId: gid})
			requireStatus(t, err, 404)
		})
	})
}

func TestAgentGraphs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, bu *bundle) {
		ctx := bu.ctx
		g, err := bu.a.Client.CreateKnowledgeGraph(ctx, &api.KnowledgeGraphCreate{Name: "Org chart"})
		require.NoError(t, err)
		ag, err := bu.a.Client.CreateAgent(ctx, &api.AgentCreate{Name: "HR", Model: "echo-1", KnowledgeGraphIds: []uuid.UUID{g.ID}})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{g.ID}, ag.KnowledgeGraphIds)
		_, err = bu.b.Client.CreateAgent(ctx, &api.AgentCreate{Name: "Spy", Model: "echo-1", KnowledgeGraphIds: []uuid.UUID{g.ID}})
		requireStatus(t, err, 400)
	})
}
