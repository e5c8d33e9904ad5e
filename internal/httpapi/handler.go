// Package httpapi implements the generated API (gen/api): a thin Handler that
// maps API types to service inputs and back, the SecurityHandler that turns a
// bearer token into a viewer, the one error mapper, and HTTP middleware.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"

	"atrium/ent"
	entconv "atrium/ent/conversation"
	"atrium/ent/message"
	"atrium/gen/api"
	"atrium/internal/conversation"
	"atrium/internal/fault"
	"atrium/internal/page"
)

// Conversations is what the handler needs of the conversations service.
type Conversations interface {
	Create(ctx context.Context, in conversation.CreateInput) (*ent.Conversation, error)
	Get(ctx context.Context, id uuid.UUID) (*ent.Conversation, error)
	List(ctx context.Context, in conversation.ListInput) (page.Page[*ent.Conversation], error)
	Update(ctx context.Context, id uuid.UUID, in conversation.UpdateInput) (*ent.Conversation, error)
	Delete(ctx context.Context, id uuid.UUID) error
	ListMessages(ctx context.Context, conversationID uuid.UUID, cursor string, limit int) (page.Page[*ent.Message], error)
	AppendMessage(ctx context.Context, conversationID uuid.UUID, in conversation.AppendInput) (*conversation.Appended, error)
}

// ReadinessFunc reports the health of each dependency by name; a nil error
// means healthy, an error matching ErrDegraded means the instance still
// serves every request correctly without it (slower, or with shorter cache
// lifetimes), and any other error means it cannot serve requests.
type ReadinessFunc func(ctx context.Context) map[string]error

// ErrDegraded marks a dependency failure the instance works around; see
// ReadinessFunc.
var ErrDegraded = errors.New("degraded")

// Services are the domain services behind the API.
type Services struct {
	Conversations Conversations
	Passkeys      Passkeys
	Accounts      Accounts
	Roles         Roles
	Members       Members
	Teams         Teams
	Shares        Shares
	Checker       Checker
	Privacy       Privacy
	Audit         AuditTrail
	Documents     Documents
	Agents        Agents
	Assistant     Assistant
	Knowledge     Knowledge
	Tenancy       Tenancy
	// ServiceAccounts may be nil: its operations then answer 404.
	ServiceAccounts ServiceAccounts
	Ready           ReadinessFunc
}

// Handler implements api.Handler.
type Handler struct {
	conversations   Conversations
	passkeys        Passkeys
	accounts        Accounts
	roles           Roles
	members         Members
	teams           Teams
	shares          Shares
	checker         Checker
	privacy         Privacy
	audit           AuditTrail
	documents       Documents
	agents          Agents
	assistant       Assistant
	knowledge       Knowledge
	tenancy         Tenancy
	serviceAccounts ServiceAccounts
	ready           ReadinessFunc
	log             *slog.Logger
}

var _ api.Handler = (*Handler)(nil)

// NewHandler returns a Handler.
func NewHandler(s Services, log *slog.Logger) *Handler {
	return &Handler{conversations: s.Conversations, passkeys: s.Passkeys, accounts: s.Accounts,
		roles: s.Roles, members: s.Members, teams: s.Teams, shares: s.Shares, checker: s.Checker, privacy: s.Privacy, audit: s.Audit, documents: s.Documents, agents: s.Agents, assistant: s.Assistant, knowledge: s.Knowledge,
		tenancy: s.Tenancy, serviceAccounts: s.ServiceAccounts, ready: s.Ready, log: log}
}

// NewError implements api.Handler: every error of every operation, security
// errors included, goes through the one mapper.
func (h *Handler) NewError(ctx context.Context, err error) *api.ErrorStatusCode {
	return Problem(ctx, h.log, err)
}

// GetHealth implements getHealth.
// GET /health
func (h *Handler) GetHealth(context.Context) (*api.Health, error) {
	return &api.Health{Status: api.HealthStatusOk}, nil
}

// GetReady implements getReady.
// GET /ready
//
// Ready means "can serve requests": 200 while every dependency is ok or
// degraded (Redis down: caches run short-lived, rate limits per instance),
// 503 through the one error mapper (with Retry-After) when one is down.
func (h *Handler) GetReady(ctx context.Context) (*api.Health, error) {
	checks := api.HealthChecks{}
	var down []string
	for name, err := range h.ready(ctx) {
		switch {
		case err == nil:
			checks[name] = "ok"
		case errors.Is(err, ErrDegraded):
			checks[name] = "degraded"
			h.log.WarnContext(ctx, "ready, degraded", "dependency", name, "err", err)
		default:
			checks[name] = "unavailable"
			down = append(down, name)
			h.log.WarnContext(ctx, "not ready", "dependency", name, "err", err)
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		return nil, fault.New(fault.Unavailable, "unavailable: %s", strings.Join(down, ", "))
	}
	return &api.Health{Status: api.HealthStatusOk, Checks: api.NewOptHealthChecks(checks)}, nil
}

// CreateConversation implements createConversation.
// POST /conversations
func (h *Handler) CreateConversation(ctx context.Context, req *api.ConversationCreate) (*api.Conversation, error) {
	in := conversation.CreateInput{Title: req.Title.Or(""), Metadata: req.Metadata.Value, AgentID: optPtr[uuid.UUID](req.AgentID)}
	if id, ok := req.TenantID.Get(); ok {
		in.TenantID = &id
	}
	c, err := h.conversations.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	return toConversation(c), nil
}

// ListConversations implements listConversations.
// GET /conversations
func (h *Handler) ListConversations(ctx context.Context, p api.ListConversationsParams) (*api.ConversationPage, error) {
	in := conversation.ListInput{Cursor: p.Cursor.Or(""), Limit: p.Limit.Or(0)}
	if s, ok := p.Status.Get(); ok {
		st := entconv.Status(s)
		in.Status = &st
	}
	page, err := h.conversations.List(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &api.ConversationPage{Items: make([]api.Conversation, 0, len(page.Items))}
	for _, c := range page.Items {
		out.Items = append(out.Items, *toConversation(c))
	}
	if page.NextCursor != "" {
		out.NextCursor = api.NewOptString(page.NextCursor)
	}
	return out, nil
}

// GetConversation implements getConversation.
// GET /conversations/{conversationId}
func (h *Handler) GetConversation(ctx context.Context, p api.GetConversationParams) (*api.Conversation, error) {
	c, err := h.conversations.Get(ctx, p.ConversationId)
	if err != nil {
		return nil, err
	}
	return toConversation(c), nil
}

// UpdateConversation implements updateConversation.
// PATCH /conversations/{conversationId}
func (h *Handler) UpdateConversation(ctx context.Context, req *api.ConversationUpdate, p api.UpdateConversationParams) (*api.Conversation, error) {
	in := conversation.UpdateInput{AgentID: optPtr[uuid.UUID](req.AgentID)}
	if t, ok := req.Title.Get(); ok {
		in.Title = &t
	}
	if s, ok := req.Status.Get(); ok {
		st := entconv.Status(s)
		in.Status = &st
	}
	if md, ok := req.Metadata.Get(); ok {
		in.Metadata = md
		if in.Metadata == nil {
			in.Metadata = map[string]string{}
		}
	}
	c, err := h.conversations.Update(ctx, p.ConversationId, in)
	if err != nil {
		return nil, err
	}
	return toConversation(c), nil
}

// DeleteConversation implements deleteConversation.
// DELETE /conversations/{conversationId}
func (h *Handler) DeleteConversation(ctx context.Context, p api.DeleteConversationParams) error {
	return h.conversations.Delete(ctx, p.ConversationId)
}

// ListMessages implements listMessages.
// GET /conversations/{conversationId}/messages
func (h *Handler) ListMessages(ctx context.Context, p api.ListMessagesParams) (*api.MessagePage, error) {
	page, err := h.conversations.ListMessages(ctx, p.ConversationId, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.MessagePage{Items: make([]api.Message, 0, len(page.Items))}
	for _, m := range page.Items {
		out.Items = append(out.Items, *toMessage(m))
	}
	if page.NextCursor != "" {
		out.NextCursor = api.NewOptString(page.NextCursor)
	}
	return out, nil
}

// AppendMessage implements appendMessage.
// POST /conversations/{conversationId}/messages
func (h *Handler) AppendMessage(ctx context.Context, req *api.MessageCreate, p api.AppendMessageParams) (*api.AppendedMessages, error) {
	res, err := h.conversations.AppendMessage(ctx, p.ConversationId, conversation.AppendInput{
		Role: message.Role(req.Role), Content: req.Content, Reply: req.Reply.Or(false),
	})
	if err != nil {
		return nil, err
	}
	out := &api.AppendedMessages{Message: *toMessage(res.Message)}
	if res.Reply != nil {
		out.Reply = api.NewOptMessage(*toMessage(res.Reply))
	}
	return out, nil
}

func toConversation(c *ent.Conversation) *api.Conversation {
	out := &api.Conversation{
		ID: c.ID, TenantID: c.TenantID, Title: c.Title, Status: api.ConversationStatus(c.Status),
		CreatedBy: c.CreatedBy, UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if len(c.Metadata) > 0 {
		out.Metadata = api.NewOptMetadata(c.Metadata)
	}
	if c.AgentID != nil {
		out.AgentID = api.NewOptUUID(*c.AgentID)
	}
	return out
}

func toMessage(m *ent.Message) *api.Message {
	return &api.Message{
		ID: m.ID, ConversationID: m.ConversationID, Role: api.MessageRole(m.Role), Content: m.Content,
		CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt,
	}
}
