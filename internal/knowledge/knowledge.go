// Package knowledge is the knowledge-graph service: graphs of typed nodes and
// edges linked to documents, shareable under authz's resource rule, every
// change audited in the same transaction.
package knowledge

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/kgedge"
	"atrium/ent/kgnode"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/resource"
)

// Audit actions.
const (
	ActionCreated     = "knowledge.created"
	ActionUpdated     = "knowledge.updated"
	ActionDeleted     = "knowledge.deleted"
	ActionNodeAdded   = "knowledge.node_added"
	ActionNodeRemoved = "knowledge.node_removed"
	ActionEdgeAdded   = "knowledge.edge_added"
	ActionEdgeRemoved = "knowledge.edge_removed"
)

// MaxDepth bounds a neighbourhood query.
const MaxDepth = 3

// kind is how graphs take part in the resource rule.
var kind = resource.Spec[*ent.KnowledgeGraph]{Type: authz.KnowledgeGraph, Manage: authz.KnowledgeManage, Actions: "knowledge",
	ID: func(g *ent.KnowledgeGraph) uuid.UUID { return g.ID }, Cascade: deleteContent}

// Service implements knowledge graphs; Get, List and Delete (with the
// graph's nodes and edges) are the shared ones of resource.Kind.
type Service struct {
	*resource.Kind[*ent.KnowledgeGraph]
	deps resource.Deps
}

// NewService returns a Service and registers graphs with access.
func NewService(client *ent.Client, w *audit.Writer, access *authz.Access) *Service {
	deps := resource.Deps{Client: client, Audit: w, Access: access}
	return &Service{deps: deps, Kind: resource.Register(deps, kind, func(c *ent.Client) *ent.KnowledgeGraphClient { return c.KnowledgeGraph })}
}

// deleteContent deletes a graph's edges and nodes.
func deleteContent(ctx context.Context, tx *ent.Tx, id uuid.UUID) error {
	if _, err := tx.KGEdge.Delete().Where(kgedge.GraphID(id)).Exec(ctx); err != nil {
		return err
	}
	_, err := tx.KGNode.Delete().Where(kgnode.GraphID(id)).Exec(ctx)
	return err
}

// GraphInput creates or (nil fields left alone) updates a graph.
type GraphInput struct {
	Name        *string
	Description *string
	DocumentIDs *[]uuid.UUID
}

func checkText(fs []fault.FieldError, field string, v *string, max int, required bool) []fault.FieldError {
	switch {
	case v == nil && required:
		return append(fs, fault.FieldError{Field: field, Message: "required"})
	case required:
		return resource.Name(fs, field, v, max)
	case len(resource.Text(nil, field, v, max)) > 0:
		return append(fs, fault.FieldError{Field: field, Message: fmt.Sprintf("1 to %d characters", max)})
	}
	return fs
}

func (s *Service) checkDocuments(ctx context.Context, ids *[]uuid.UUID) error {
	if ids == nil {
		return nil
	}
	return s.deps.Access.RequireReadable(ctx, authz.Document, *ids, "document_ids")
}

// Create creates a graph; the caller owns it.
func (s *Service) Create(ctx context.Context, in GraphInput) (*ent.KnowledgeGraph, error) {
	fs := checkText(nil, "name", in.Name, 200, true)
	if err := fault.Fields(checkText(fs, "description", in.Description, 2000, false)...); err != nil {
		return nil, err
	}
	if err := s.checkDocuments(ctx, in.DocumentIDs); err != nil {
		return nil, err
	}
	return s.Kind.Create(ctx, func(tx *ent.Tx) (*ent.KnowledgeGraph, error) {
		b := tx.KnowledgeGraph.Create().SetName(strings.TrimSpace(*in.Name)).SetNillableDescription(in.Description)
		if in.DocumentIDs != nil {
			b.SetDocumentIds(*in.DocumentIDs)
		}
		return b.Save(ctx)
	})
}

// Update changes a graph; the caller needs editor access.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in GraphInput) (*ent.KnowledgeGraph, error) {
	fs := checkText(nil, "name", in.Name, 200, false)
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		fs = append(fs, fault.FieldError{Field: "name", Message: "must not be empty"})
	}
	if err := fault.Fields(checkText(fs, "description", in.Description, 2000, false)...); err != nil {
		return nil, err
	}
	check := func(ctx context.Context) error { return s.checkDocuments(ctx, in.DocumentIDs) }
	return s.Kind.Update(ctx, id, check, func(tx *ent.Tx) (*ent.KnowledgeGraph, error) {
		u := tx.KnowledgeGraph.UpdateOneID(id).SetNillableName(resource.TrimSpace(in.Name)).SetNillableDescription(in.Description)
		if in.DocumentIDs != nil {
			u.SetDocumentIds(*in.DocumentIDs)
		}
		return u.Save(ctx)
	})
}

// NodeInput adds a node.
type NodeInput struct {
	Type, Label string
	Properties  map[string]string
	DocumentID  *uuid.UUID
}

// AddNode adds a node to a graph; editor access.
func (s *Service) AddNode(ctx context.Context, graphID uuid.UUID, in NodeInput) (*ent.KGNode, error) {
	fs := checkText(nil, "type", &in.Type, 100, true)
	if err := fault.Fields(checkText(fs, "label", &in.Label, 500, true)...); err != nil {
		return nil, err
	}
	if err := s.Require(ctx, graphID, authz.Editor); err != nil {
		return nil, err
	}
	if in.DocumentID != nil {
		ids := []uuid.UUID{*in.DocumentID}
		if err := s.checkDocuments(ctx, &ids); err != nil {
			return nil, err
		}
	}
	var n *ent.KGNode
	id := uuid.Must(uuid.NewV7()) // the event names it
	err := s.change(ctx, graphID, ActionNodeAdded, "node", func(tx *ent.Tx) (uuid.UUID, error) {
		var err error
		n, err = tx.KGNode.Create().SetID(id).SetGraphID(graphID).SetType(in.Type).SetLabel(in.Label).
			SetProperties(in.Properties).SetNillableDocumentID(in.DocumentID).Save(ctx)
		return id, err
	})
	return n, err
}

// change runs fn, which changes a node or an edge (what) of the graph and
// returns its id, with the audit event action naming it; the caller has
// checked editor access.
func (s *Service) change(ctx context.Context, graphID uuid.UUID, action, what string, fn func(tx *ent.Tx) (uuid.UUID, error)) error {
	err := s.deps.Audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		id, err := fn(tx)
		if err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: action, ResourceType: string(authz.KnowledgeGraph), ResourceID: graphID,
			Details: map[string]string{what + "_id": id.String()}}, nil
	})
	return fault.FromEnt(err, what)
}

// removed is id, or not found when a delete of n rows removed nothing.
func removed(n int, err error, id uuid.UUID, what string) (uuid.UUID, error) {
	switch {
	case err != nil:
		return uuid.Nil, err
	case n == 0:
		return uuid.Nil, fault.New(fault.NotFound, "%s not found", what)
	}
	return id, nil
}

// EdgeInput adds an edge.
type EdgeInput struct {
	SourceID, TargetID uuid.UUID
	Type               string
	Properties         map[string]string
}

// AddEdge adds an edge between two nodes of the graph; editor access.
func (s *Service) AddEdge(ctx context.Context, graphID uuid.UUID, in EdgeInput) (*ent.KGEdge, error) {
	if err := fault.Fields(checkText(nil, "type", &in.Type, 100, true)...); err != nil {
		return nil, err
	}
	if err := s.Require(ctx, graphID, authz.Editor); err != nil {
		return nil, err
	}
	var e *ent.KGEdge
	id := uuid.Must(uuid.NewV7()) // the event names it
	err := s.change(ctx, graphID, ActionEdgeAdded, "edge", func(tx *ent.Tx) (uuid.UUID, error) {
		n, err := tx.KGNode.Query().Where(kgnode.GraphID(graphID), kgnode.IDIn(in.SourceID, in.TargetID)).Count(ctx)
		if err != nil {
			return uuid.Nil, err
		}
		want := 2
		if in.SourceID == in.TargetID {
			want = 1
		}
		if n != want {
			return uuid.Nil, fault.Fields(fault.FieldError{Field: "source_id", Message: "source and target must be nodes of this graph"})
		}
		e, err = tx.KGEdge.Create().SetID(id).SetGraphID(graphID).SetSourceID(in.SourceID).SetTargetID(in.TargetID).
			SetType(in.Type).SetProperties(in.Properties).Save(ctx)
		return id, err
	})
	return e, err
}

// RemoveNode removes a node and its edges; editor access.
func (s *Service) RemoveNode(ctx context.Context, graphID, nodeID uuid.UUID) error {
	if err := s.Require(ctx, graphID, authz.Editor); err != nil {
		return err
	}
	return s.change(ctx, graphID, ActionNodeRemoved, "node", func(tx *ent.Tx) (uuid.UUID, error) {
		if _, err := tx.KGEdge.Delete().Where(kgedge.GraphID(graphID),
			kgedge.Or(kgedge.SourceID(nodeID), kgedge.TargetID(nodeID))).Exec(ctx); err != nil {
			return uuid.Nil, err
		}
		n, err := tx.KGNode.Delete().Where(kgnode.GraphID(graphID), kgnode.ID(nodeID)).Exec(ctx)
		return removed(n, err, nodeID, "node")
	})
}

// RemoveEdge removes an edge; editor access.
func (s *Service) RemoveEdge(ctx context.Context, graphID, edgeID uuid.UUID) error {
	if err := s.Require(ctx, graphID, authz.Editor); err != nil {
		return err
	}
	return s.change(ctx, graphID, ActionEdgeRemoved, "edge", func(tx *ent.Tx) (uuid.UUID, error) {
		n, err := tx.KGEdge.Delete().Where(kgedge.GraphID(graphID), kgedge.ID(edgeID)).Exec(ctx)
		return removed(n, err, edgeID, "edge")
	})
}

// Neighbourhood is the nodes and edges within depth hops of a node.
type Neighbourhood struct {
	Nodes []*ent.KGNode
	Edges []*ent.KGEdge
}

// Neighbourhood returns the nodes within depth (1 to MaxDepth) hops of a node,
// following edges in both directions, and the edges between them.
func (s *Service) Neighbourhood(ctx context.Context, graphID, nodeID uuid.UUID, depth int) (*Neighbourhood, error) {
	if depth == 0 {
		depth = 1
	}
	if depth < 1 || depth > MaxDepth {
		return nil, fault.Fields(fault.FieldError{Field: "depth", Message: fmt.Sprintf("between 1 and %d", MaxDepth)})
	}
	if err := s.Require(ctx, graphID, authz.Viewer); err != nil {
		return nil, err
	}
	if ok, err := s.deps.Client.KGNode.Query().Where(kgnode.GraphID(graphID), kgnode.ID(nodeID)).Exist(ctx); err != nil || !ok {
		return nil, fault.New(fault.NotFound, "node not found")
	}
	seen := map[uuid.UUID]bool{nodeID: true}
	frontier := []uuid.UUID{nodeID}
	for range depth {
		es, err := s.deps.Client.KGEdge.Query().Where(kgedge.GraphID(graphID),
			kgedge.Or(kgedge.SourceIDIn(frontier...), kgedge.TargetIDIn(frontier...))).Limit(10_000).All(ctx)
		if err != nil {
			return nil, fault.FromEnt(err, "edge")
		}
		var next []uuid.UUID
		for _, e := range es {
			for _, id := range []uuid.UUID{e.SourceID, e.TargetID} {
				if !seen[id] {
					seen[id] = true
					next = append(next, id)
				}
			}
		}
		if frontier = next; len(frontier) == 0 {
			break
		}
	}
	ids := make([]uuid.UUID, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	nodes, err := s.deps.Client.KGNode.Query().Where(kgnode.GraphID(graphID), kgnode.IDIn(ids...)).
		Order(ent.Asc(kgnode.FieldID)).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "node")
	}
	// Every edge between two of the nodes, also between two found at the
	// last hop (which the walk did not follow).
	edges, err := s.deps.Client.KGEdge.Query().Where(kgedge.GraphID(graphID),
		kgedge.SourceIDIn(ids...), kgedge.TargetIDIn(ids...)).Order(ent.Asc(kgedge.FieldID)).Limit(10_000).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "edge")
	}
	return &Neighbourhood{Nodes: nodes, Edges: edges}, nil
}
