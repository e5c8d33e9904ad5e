package httpapi

import (
	"context"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/gen/api"
	"atrium/internal/agent"
	"atrium/internal/authz"
	"atrium/internal/page"
)

// Agents is what the handler needs of the agents service.
type Agents interface {
	Create(ctx context.Context, in agent.Input) (*ent.Agent, error)
	Get(ctx context.Context, id uuid.UUID) (*ent.Agent, error)
	List(ctx context.Context, cursor string, limit int) (page.Page[*ent.Agent], error)
	Update(ctx context.Context, id uuid.UUID, in agent.Input) (*ent.Agent, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

func optPtr[T any](o interface{ Get() (T, bool) }) *T {
	if v, ok := o.Get(); ok {
		return &v
	}
	return nil
}

// CreateAgent implements createAgent.
// POST /agents
func (h *Handler) CreateAgent(ctx context.Context, req *api.AgentCreate) (*api.Agent, error) {
	in := agent.Input{Name: &req.Name, Model: &req.Model, Description: optPtr[string](req.Description),
		Instructions: optPtr[string](req.Instructions), Temperature: optPtr[float64](req.Temperature), MaxTokens: optPtr[int](req.MaxTokens)}
	if req.DocumentIds != nil {
		in.DocumentIDs = &req.DocumentIds
	}
	if req.KnowledgeGraphIds != nil {
		in.GraphIDs = &req.KnowledgeGraphIds
	}
	return agentOut(h.agents.Create(ctx, in))
}

// ListAgents implements listAgents.
// GET /agents
func (h *Handler) ListAgents(ctx context.Context, p api.ListAgentsParams) (*api.AgentPage, error) {
	pg, err := h.agents.List(ctx, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.AgentPage{Items: make([]api.Agent, 0, len(pg.Items))}
	for _, a := range pg.Items {
		out.Items = append(out.Items, *toAgent(a))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// GetAgent implements getAgent.
// GET /agents/{agentId}
func (h *Handler) GetAgent(ctx context.Context, p api.GetAgentParams) (*api.Agent, error) {
	return agentOut(h.agents.Get(ctx, p.AgentId))
}

// UpdateAgent implements updateAgent.
// PATCH /agents/{agentId}
func (h *Handler) UpdateAgent(ctx context.Context, req *api.AgentUpdate, p api.UpdateAgentParams) (*api.Agent, error) {
	in := agent.Input{Name: optPtr[string](req.Name), Model: optPtr[string](req.Model), Description: optPtr[string](req.Description),
		Instructions: optPtr[string](req.Instructions), Temperature: optPtr[float64](req.Temperature), MaxTokens: optPtr[int](req.MaxTokens)}
	if req.DocumentIds != nil {
		in.DocumentIDs = &req.DocumentIds
	}
	if req.KnowledgeGraphIds != nil {
		in.GraphIDs = &req.KnowledgeGraphIds
	}
	return agentOut(h.agents.Update(ctx, p.AgentId, in))
}

// DeleteAgent implements deleteAgent.
// DELETE /agents/{agentId}
func (h *Handler) DeleteAgent(ctx context.Context, p api.DeleteAgentParams) error {
	return h.agents.Delete(ctx, p.AgentId)
}

// ListAgentShares implements listAgentShares.
// GET /agents/{agentId}/shares
func (h *Handler) ListAgentShares(ctx context.Context, p api.ListAgentSharesParams) (*api.ShareList, error) {
	return h.listShares(ctx, authz.Agent, p.AgentId)
}

// ShareAgent implements shareAgent.
// POST /agents/{agentId}/shares
func (h *Handler) ShareAgent(ctx context.Context, req *api.ShareCreate, p api.ShareAgentParams) (*api.Share, error) {
	return h.share(ctx, authz.Agent, p.AgentId, req)
}

// RevokeAgentShare implements revokeAgentShare.
// DELETE /agents/{agentId}/shares/{shareId}
func (h *Handler) RevokeAgentShare(ctx context.Context, p api.RevokeAgentShareParams) error {
	return h.shares.Revoke(ctx, authz.Agent, p.AgentId, p.ShareId)
}

func toAgent(a *ent.Agent) *api.Agent {
	out := &api.Agent{ID: a.ID, TenantID: a.TenantID, Name: a.Name, Description: a.Description, Instructions: a.Instructions,
		Model: a.Model, DocumentIds: a.DocumentIds, CreatedBy: a.CreatedBy, UpdatedBy: a.UpdatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if out.DocumentIds == nil {
		out.DocumentIds = []uuid.UUID{}
	}
	out.KnowledgeGraphIds = a.KnowledgeGraphIds
	if out.KnowledgeGraphIds == nil {
		out.KnowledgeGraphIds = []uuid.UUID{}
	}
	if a.Temperature != nil {
		out.Temperature = api.NewOptFloat64(*a.Temperature)
	}
	if a.MaxTokens != nil {
		out.MaxTokens = api.NewOptInt(*a.MaxTokens)
	}
	return out
}

func agentOut(a *ent.Agent, err error) (*api.Agent, error) {
	if err != nil {
		return nil, err
	}
	return toAgent(a), nil
}
