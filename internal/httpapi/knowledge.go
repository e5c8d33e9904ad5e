package httpapi

import (
	"context"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/knowledge"
	"atrium/internal/page"
)

// Knowledge is what the handler needs of the knowledge-graph service.
type Knowledge interface {
	Create(ctx context.Context, in knowledge.GraphInput) (*ent.KnowledgeGraph, error)
	Get(ctx context.Context, id uuid.UUID) (*ent.KnowledgeGraph, error)
	List(ctx context.Context, cursor string, limit int) (page.Page[*ent.KnowledgeGraph], error)
	Update(ctx context.Context, id uuid.UUID, in knowledge.GraphInput) (*ent.KnowledgeGraph, error)
	Delete(ctx context.Context, id uuid.UUID) error
	AddNode(ctx context.Context, graphID uuid.UUID, in knowledge.NodeInput) (*ent.KGNode, error)
	RemoveNode(ctx context.Context, graphID, nodeID uuid.UUID) error
	AddEdge(ctx context.Context, graphID uuid.UUID, in knowledge.EdgeInput) (*ent.KGEdge, error)
	RemoveEdge(ctx context.Context, graphID, edgeID uuid.UUID) error
	Neighbourhood(ctx context.Context, graphID, nodeID uuid.UUID, depth int) (*knowledge.Neighbourhood, error)
}

// CreateKnowledgeGraph implements createKnowledgeGraph.
// POST /knowledge-graphs
func (h *Handler) CreateKnowledgeGraph(ctx context.Context, req *api.KnowledgeGraphCreate) (*api.KnowledgeGraph, error) {
	in := knowledge.GraphInput{Name: &req.Name, Description: optPtr[string](req.Description)}
	if req.DocumentIds != nil {
		in.DocumentIDs = &req.DocumentIds
	}
	return graphOut(h.knowledge.Create(ctx, in))
}

// ListKnowledgeGraphs implements listKnowledgeGraphs.
// GET /knowledge-graphs
func (h *Handler) ListKnowledgeGraphs(ctx context.Context, p api.ListKnowledgeGraphsParams) (*api.KnowledgeGraphPage, error) {
	pg, err := h.knowledge.List(ctx, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.KnowledgeGraphPage{Items: make([]api.KnowledgeGraph, 0, len(pg.Items))}
	for _, g := range pg.Items {
		out.Items = append(out.Items, *toGraph(g))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// GetKnowledgeGraph implements getKnowledgeGraph.
// GET /knowledge-graphs/{graphId}
func (h *Handler) GetKnowledgeGraph(ctx context.Context, p api.GetKnowledgeGraphParams) (*api.KnowledgeGraph, error) {
	return graphOut(h.knowledge.Get(ctx, p.GraphId))
}

// UpdateKnowledgeGraph implements updateKnowledgeGraph.
// PATCH /knowledge-graphs/{graphId}
func (h *Handler) UpdateKnowledgeGraph(ctx context.Context, req *api.KnowledgeGraphUpdate, p api.UpdateKnowledgeGraphParams) (*api.KnowledgeGraph, error) {
	in := knowledge.GraphInput{Name: optPtr[string](req.Name), Description: optPtr[string](req.Description)}
	if req.DocumentIds != nil {
		in.DocumentIDs = &req.DocumentIds
	}
	return graphOut(h.knowledge.Update(ctx, p.GraphId, in))
}

// DeleteKnowledgeGraph implements deleteKnowledgeGraph.
// DELETE /knowledge-graphs/{graphId}
func (h *Handler) DeleteKnowledgeGraph(ctx context.Context, p api.DeleteKnowledgeGraphParams) error {
	return h.knowledge.Delete(ctx, p.GraphId)
}

// AddKnowledgeNode implements addKnowledgeNode.
// POST /knowledge-graphs/{graphId}/nodes
func (h *Handler) AddKnowledgeNode(ctx context.Context, req *api.KGNodeCreate, p api.AddKnowledgeNodeParams) (*api.KGNode, error) {
	n, err := h.knowledge.AddNode(ctx, p.GraphId, knowledge.NodeInput{Type: req.Type, Label: req.Label,
		Properties: req.Properties.Value, DocumentID: optPtr[uuid.UUID](req.DocumentID)})
	if err != nil {
		return nil, err
	}
	out := toNode(n)
	return &out, nil
}

// RemoveKnowledgeNode implements removeKnowledgeNode.
// DELETE /knowledge-graphs/{graphId}/nodes/{nodeId}
func (h *Handler) RemoveKnowledgeNode(ctx context.Context, p api.RemoveKnowledgeNodeParams) error {
	return h.knowledge.RemoveNode(ctx, p.GraphId, p.NodeId)
}

// AddKnowledgeEdge implements addKnowledgeEdge.
// POST /knowledge-graphs/{graphId}/edges
func (h *Handler) AddKnowledgeEdge(ctx context.Context, req *api.KGEdgeCreate, p api.AddKnowledgeEdgeParams) (*api.KGEdge, error) {
	e, err := h.knowledge.AddEdge(ctx, p.GraphId, knowledge.EdgeInput{SourceID: req.SourceID, TargetID: req.TargetID,
		Type: req.Type, Properties: req.Properties.Value})
	if err != nil {
		return nil, err
	}
	out := toEdge(e)
	return &out, nil
}

// RemoveKnowledgeEdge implements removeKnowledgeEdge.
// DELETE /knowledge-graphs/{graphId}/edges/{edgeId}
func (h *Handler) RemoveKnowledgeEdge(ctx context.Context, p api.RemoveKnowledgeEdgeParams) error {
	return h.knowledge.RemoveEdge(ctx, p.GraphId, p.EdgeId)
}

// GetKnowledgeNeighbourhood implements getKnowledgeNeighbourhood.
// GET /knowledge-graphs/{graphId}/nodes/{nodeId}/neighbourhood
func (h *Handler) GetKnowledgeNeighbourhood(ctx context.Context, p api.GetKnowledgeNeighbourhoodParams) (*api.KGNeighbourhood, error) {
	nb, err := h.knowledge.Neighbourhood(ctx, p.GraphId, p.NodeId, p.Depth.Or(1))
	if err != nil {
		return nil, err
	}
	out := &api.KGNeighbourhood{Nodes: make([]api.KGNode, 0, len(nb.Nodes)), Edges: make([]api.KGEdge, 0, len(nb.Edges))}
	for _, n := range nb.Nodes {
		out.Nodes = append(out.Nodes, toNode(n))
	}
	for _, e := range nb.Edges {
		out.Edges = append(out.Edges, toEdge(e))
	}
	return out, nil
}

// ListKnowledgeGraphShares implements listKnowledgeGraphShares.
// GET /knowledge-graphs/{graphId}/shares
func (h *Handler) ListKnowledgeGraphShares(ctx context.Context, p api.ListKnowledgeGraphSharesParams) (*api.ShareList, error) {
	return h.listShares(ctx, authz.KnowledgeGraph, p.GraphId)
}

// ShareKnowledgeGraph implements shareKnowledgeGraph.
// POST /knowledge-graphs/{graphId}/shares
func (h *Handler) ShareKnowledgeGraph(ctx context.Context, req *api.ShareCreate, p api.ShareKnowledgeGraphParams) (*api.Share, error) {
	return h.share(ctx, authz.KnowledgeGraph, p.GraphId, req)
}

// RevokeKnowledgeGraphShare implements revokeKnowledgeGraphShare.
// DELETE /knowledge-graphs/{graphId}/shares/{shareId}
func (h *Handler) RevokeKnowledgeGraphShare(ctx context.Context, p api.RevokeKnowledgeGraphShareParams) error {
	return h.shares.Revoke(ctx, authz.KnowledgeGraph, p.GraphId, p.ShareId)
}

func toGraph(g *ent.KnowledgeGraph) *api.KnowledgeGraph {
	out := &api.KnowledgeGraph{ID: g.ID, TenantID: g.TenantID, Name: g.Name, Description: g.Description,
		DocumentIds: g.DocumentIds, CreatedBy: g.CreatedBy, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	if out.DocumentIds == nil {
		out.DocumentIds = []uuid.UUID{}
	}
	return out
}

func graphOut(g *ent.KnowledgeGraph, err error) (*api.KnowledgeGraph, error) {
	if err != nil {
		return nil, err
	}
	return toGraph(g), nil
}

func toNode(n *ent.KGNode) api.KGNode {
	out := api.KGNode{ID: n.ID, GraphID: n.GraphID, Type: n.Type, Label: n.Label}
	if len(n.Properties) > 0 {
		out.Properties = api.NewOptMetadata(n.Properties)
	}
	if n.DocumentID != nil {
		out.DocumentID = api.NewOptUUID(*n.DocumentID)
	}
	return out
}

func toEdge(e *ent.KGEdge) api.KGEdge {
	out := api.KGEdge{ID: e.ID, GraphID: e.GraphID, SourceID: e.SourceID, TargetID: e.TargetID, Type: e.Type}
	if len(e.Properties) > 0 {
		out.Properties = api.NewOptMetadata(e.Properties)
	}
	return out
}
