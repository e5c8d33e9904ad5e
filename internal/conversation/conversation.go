// Package conversation is the conversations service: conversations and their
// messages, tenant-isolated by the data layer, every change audited in the
// same transaction.
package conversation

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"atrium/ent"
	entconv "atrium/ent/conversation"
	"atrium/ent/document"
	"atrium/ent/kgedge"
	"atrium/ent/kgnode"
	"atrium/ent/knowledgegraph"
	"atrium/ent/message"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/llm"
	"atrium/internal/page"
	"atrium/internal/resource"
	"atrium/internal/rls"
	"atrium/internal/viewer"
)

// Limits on input sizes.
const (
	MaxTitle        = 200
	MaxContent      = 32000
	MaxMetadataKeys = 50
	MaxMetadataLen  = 1000
)

// Audit actions.
const (
	ActionCreated       = "conversation.created"
	ActionUpdated       = "conversation.updated"
	ActionDeleted       = "conversation.deleted"
	ActionMessageAppend = "message.created"
)

// kind is how conversations take part in the resource rule.
var kind = resource.Spec[*ent.Conversation]{Type: authz.Conversation, Manage: authz.ConversationManage, Actions: "conversation",
	ID: func(c *ent.Conversation) uuid.UUID { return c.ID }, Cascade: deleteMessages}

// Service implements conversations. Access to each conversation follows
// authz's resource rule: its creator owns it; shares give users and teams
// viewer, editor or owner access; conversation.manage sees everything. Get
// and Delete (with the messages) are the shared ones of resource.Kind.
type Service struct {
	*resource.Kind[*ent.Conversation]
	client  *ent.Client
	audit   *audit.Writer
	access  *authz.Access
	replier Replier
	events  Events
}

// Events receives the messages a conversation gains, after they commit (the
// real-time hub fans them out to subscribers).
type Events interface {
	MessageCreated(ctx context.Context, m *ent.Message)
	// AssistantToken streams a reply's text while the model produces it,
	// before the reply is stored.
	AssistantToken(ctx context.Context, tenantID, conversationID uuid.UUID, delta string)
}

// SetEvents makes the service announce new messages to e.
func (s *Service) SetEvents(e Events) { s.events = e }

// Replier runs the model call of an assistant reply.
type Replier interface {
	ReplyStream(ctx context.Context, r llm.Request, conversationID uuid.UUID, onDelta func(string)) (*llm.Response, error)
}

// NewService returns a Service and registers conversations with access.
func NewService(client *ent.Client, w *audit.Writer, access *authz.Access, replier Replier) *Service {
	deps := resource.Deps{Client: client, Audit: w, Access: access}
	return &Service{client: client, audit: w, access: access, replier: replier, Kind: resource.Register(deps, kind, func(c *ent.Client) *ent.ConversationClient { return c.Conversation })}
}

// deleteMessages deletes a conversation's messages.
func deleteMessages(ctx context.Context, tx *ent.Tx, id uuid.UUID) error {
	_, err := tx.Message.Delete().Where(message.ConversationID(id)).Exec(ctx)
	return err
}

// CreateInput creates a conversation.
type CreateInput struct {
	AgentID  *uuid.UUID
	Title    string
	Metadata map[string]string
	// TenantID, if set, must be the caller's tenant; the data layer refuses
	// any other.
	TenantID *uuid.UUID
}

// Validate reports every problem with the input.
func (in CreateInput) Validate() error {
	var fs []fault.FieldError
	fs = resource.Text(fs, "title", &in.Title, MaxTitle)
	fs = checkMetadata(fs, in.Metadata)
	return fault.Fields(fs...)
}

// UpdateInput changes a conversation; nil fields stay as they are.
type UpdateInput struct {
	AgentID  *uuid.UUID
	Title    *string
	Status   *entconv.Status
	Metadata map[string]string // nil = unchanged
}

// Validate reports every problem with the input.
func (in UpdateInput) Validate() error {
	var fs []fault.FieldError
	if in.Title == nil && in.Status == nil && in.Metadata == nil && in.AgentID == nil {
		fs = append(fs, fault.FieldError{Field: "body", Message: "nothing to change"})
	}
	fs = resource.Text(fs, "title", in.Title, MaxTitle)
	if in.Status != nil {
		if err := entconv.StatusValidator(*in.Status); err != nil {
			fs = append(fs, fault.FieldError{Field: "status", Message: "must be active or archived"})
		}
	}
	fs = checkMetadata(fs, in.Metadata)
	return fault.Fields(fs...)
}

// AppendInput appends a message.
type AppendInput struct {
	Role    message.Role
	Content string
	Reply   bool // ask the conversation's agent for an assistant reply
}

// Appended is an appended message and, when asked for, the reply.
type Appended struct {
	Message *ent.Message
	Reply   *ent.Message
}

// Validate reports every problem with the input.
func (in AppendInput) Validate() error {
	var fs []fault.FieldError
	if err := message.RoleValidator(in.Role); err != nil {
		fs = append(fs, fault.FieldError{Field: "role", Message: "must be user, assistant or system"})
	}
	if in.Content == "" {
		fs = append(fs, fault.FieldError{Field: "content", Message: "must not be empty"})
	} else if utf8.RuneCountInString(in.Content) > MaxContent {
		fs = append(fs, fault.FieldError{Field: "content", Message: fmt.Sprintf("at most %d characters", MaxContent)})
	}
	return fault.Fields(fs...)
}

func checkMetadata(fs []fault.FieldError, md map[string]string) []fault.FieldError {
	if len(md) > MaxMetadataKeys {
		fs = append(fs, fault.FieldError{Field: "metadata", Message: fmt.Sprintf("at most %d keys", MaxMetadataKeys)})
	}
	for k, v := range md {
		if len(k) == 0 || len(k) > 100 || utf8.RuneCountInString(v) > MaxMetadataLen {
			fs = append(fs, fault.FieldError{Field: "metadata", Message: fmt.Sprintf("keys 1-100 bytes, values at most %d characters", MaxMetadataLen)})
			break
		}
	}
	return fs
}

// ListInput selects a page.
type ListInput struct {
	Cursor string
	Limit  int
	Status *entconv.Status
}

// Create creates a conversation in the caller's tenant.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Conversation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkAgent(ctx, in.AgentID); err != nil {
		return nil, err
	}
	return s.Kind.Create(ctx, func(tx *ent.Tx) (*ent.Conversation, error) {
		b := tx.Conversation.Create().SetTitle(in.Title).SetMetadata(in.Metadata).SetNillableAgentID(in.AgentID)
		if in.TenantID != nil {
			b.SetTenantID(*in.TenantID)
		}
		c, err := b.Save(ctx)
		// The data layer refuses a tenant other than the caller's: that
		// tenant does not exist for them.
		return c, fault.FromEnt(err, "tenant")
	})
}

// List returns conversations, newest first.
func (s *Service) List(ctx context.Context, in ListInput) (page.Page[*ent.Conversation], error) {
	if in.Status != nil {
		return s.ListWhere(ctx, in.Cursor, in.Limit, entconv.StatusEQ(*in.Status))
	}
	return s.ListWhere(ctx, in.Cursor, in.Limit)
}

// Update changes a conversation.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (*ent.Conversation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	check := func(ctx context.Context) error { return s.checkAgent(ctx, in.AgentID) }
	return s.Kind.Update(ctx, id, check, func(tx *ent.Tx) (*ent.Conversation, error) {
		u := tx.Conversation.UpdateOneID(id).SetNillableAgentID(in.AgentID).SetNillableTitle(in.Title).SetNillableStatus(in.Status)
		if in.Metadata != nil {
			u.SetMetadata(in.Metadata)
		}
		return u.Save(ctx)
	})
}

// ListMessages returns a conversation's messages, oldest first.
func (s *Service) ListMessages(ctx context.Context, conversationID uuid.UUID, cursor string, limit int) (page.Page[*ent.Message], error) {
	if _, err := s.Get(ctx, conversationID); err != nil {
		return page.Page[*ent.Message]{}, err
	}
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.Message, error) {
		q := s.client.Message.Query().
			Where(message.ConversationID(conversationID)).
			Order(ent.Asc(message.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(message.IDGT(after))
		}
		return q.All(ctx)
	}, func(m *ent.Message) uuid.UUID { return m.ID })
	return p, fault.FromEnt(err, "message")
}

// AppendMessage appends a message to a conversation of the caller's tenant,
// and with in.Reply asks the conversation's agent for an assistant reply:
// the model is called first, and the message and the reply are then stored
// in one transaction, so a provider failure stores nothing.
func (s *Service) AppendMessage(ctx context.Context, conversationID uuid.UUID, in AppendInput) (*Appended, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	// The conversation is found in the caller's tenant here, so the
	// message's policy (ent/schema/message.go, RefInTenant) need not look
	// it up again under checked, and the insert needs no answer: on
	// PostgreSQL it goes in one batch with the audit append and COMMIT
	// (rls.Deferred), one round trip. The foreign key holds at the insert;
	// a conversation deleted since fails it, at the commit (below).
	checked, err := s.RequireRef(ctx, conversationID, authz.Editor, message.FieldConversationID)
	if err != nil {
		return nil, err
	}
	checked = rls.Deferred(checked)
	var reply *llm.Response
	if in.Reply {
		var err error
		if reply, err = s.reply(ctx, conversationID, in); err != nil {
			return nil, err
		}
	}
	out := &Appended{}
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		out.Message, err = tx.Message.Create().
			SetConversationID(conversationID).
			SetRole(in.Role).
			SetContent(in.Content).
			Save(checked)
		if err != nil {
			return audit.Event{}, err
		}
		if reply != nil {
			if out.Reply, err = tx.Message.Create().SetConversationID(conversationID).
				SetRole(message.RoleAssistant).SetContent(reply.Content).Save(checked); err != nil {
				return audit.Event{}, err
			}
			if err := s.audit.Record(ctx, tx, audit.Event{Action: ActionMessageAppend, ResourceType: "message", ResourceID: out.Reply.ID,
				Details: map[string]string{"conversation_id": conversationID.String(), "role": "assistant"}}); err != nil {
				return audit.Event{}, err
			}
		}
		return audit.Event{Action: ActionMessageAppend, ResourceType: "message", ResourceID: out.Message.ID,
			Details: map[string]string{"conversation_id": conversationID.String()}}, nil
	})
	if fault.IsConstraint(err) {
		// The conversation may have been deleted since Require (the
		// foreign key): then it is not found, as any deleted row.
		if found, ferr := s.client.Conversation.Query().Where(entconv.ID(conversationID)).Exist(ctx); ferr == nil && !found {
			return nil, fault.New(fault.NotFound, "conversation not found")
		}
	}
	if err != nil {
		return nil, fault.FromEnt(err, "conversation")
	}
	if s.events != nil {
		s.events.MessageCreated(ctx, out.Message)
		if out.Reply != nil {
			s.events.MessageCreated(ctx, out.Reply)
		}
	}
	return out, nil
}

// MaxHistory is how many earlier messages go to the model with a reply.
const MaxHistory = 50

// reply builds the model request — the agent's instructions, its context
// documents and knowledge graphs the caller may read, the recent history and
// the new message — and runs it.
func (s *Service) reply(ctx context.Context, conversationID uuid.UUID, in AppendInput) (*llm.Response, error) {
	if !viewer.FromContext(ctx).Allows(authz.LLMUse) {
		return nil, fault.New(fault.Forbidden, "missing permission %s", authz.LLMUse)
	}
	c, err := s.client.Conversation.Get(ctx, conversationID)
	if err != nil {
		return nil, fault.FromEnt(err, "conversation")
	}
	if c.AgentID == nil {
		return nil, fault.Fields(fault.FieldError{Field: "reply", Message: "the conversation has no agent"})
	}
	if err := s.access.Require(ctx, authz.Agent, *c.AgentID, authz.Viewer); err != nil {
		return nil, fault.Fields(fault.FieldError{Field: "reply", Message: "the conversation's agent is not available to you"})
	}
	ag, err := s.client.Agent.Get(ctx, *c.AgentID)
	if err != nil {
		return nil, fault.FromEnt(err, "agent")
	}
	system := ag.Instructions
	if readable, err := s.access.Readable(ctx, authz.Document, ag.DocumentIds); err != nil {
		return nil, err
	} else if len(readable) > 0 {
		docs, err := s.client.Document.Query().Where(document.IDIn(readable...)).All(ctx)
		if err != nil {
			return nil, fault.FromEnt(err, "document")
		}
		for _, d := range docs {
			system += "\n\n# " + d.Title + "\n" + d.Content
		}
	}
	if readable, err := s.access.Readable(ctx, authz.KnowledgeGraph, ag.KnowledgeGraphIds); err != nil {
		return nil, err
	} else if len(readable) > 0 {
		graphs, err := s.graphContext(ctx, readable)
		if err != nil {
			return nil, err
		}
		system += graphs
	}
	history, err := s.client.Message.Query().Where(message.ConversationID(conversationID)).
		Order(ent.Desc(message.FieldID)).Limit(MaxHistory).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "message")
	}
	r := llm.Request{Model: ag.Model, Temperature: ag.Temperature}
	if ag.MaxTokens != nil {
		r.MaxTokens = *ag.MaxTokens
	}
	if system != "" {
		r.Messages = append(r.Messages, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	for i := len(history) - 1; i >= 0; i-- {
		r.Messages = append(r.Messages, llm.Message{Role: string(history[i].Role), Content: history[i].Content})
	}
	r.Messages = append(r.Messages, llm.Message{Role: string(in.Role), Content: in.Content})
	var onDelta func(string)
	if s.events != nil {
		onDelta = func(d string) { s.events.AssistantToken(ctx, c.TenantID, conversationID, d) }
	}
	return s.replier.ReplyStream(ctx, r, conversationID, onDelta)
}

// Bounds of a knowledge graph in a model's context.
const (
	MaxContextNodes = 200
	MaxContextEdges = 400
)

// graphContext renders knowledge graphs for the system prompt: each graph's
// nodes and its relations between them, bounded per graph (a graph that
// does not fit says how much was left out).
func (s *Service) graphContext(ctx context.Context, ids []uuid.UUID) (string, error) {
	graphs, err := s.client.KnowledgeGraph.Query().Where(knowledgegraph.IDIn(ids...)).All(ctx)
	if err != nil {
		return "", fault.FromEnt(err, "knowledge graph")
	}
	var b strings.Builder
	for _, g := range graphs {
		nodes, err := s.client.KGNode.Query().Where(kgnode.GraphID(g.ID)).Order(ent.Asc(kgnode.FieldID)).Limit(MaxContextNodes + 1).All(ctx)
		if err != nil {
			return "", fault.FromEnt(err, "knowledge graph")
		}
		edges, err := s.client.KGEdge.Query().Where(kgedge.GraphID(g.ID)).Order(ent.Asc(kgedge.FieldID)).Limit(MaxContextEdges + 1).All(ctx)
		if err != nil {
			return "", fault.FromEnt(err, "knowledge graph")
		}
		fmt.Fprintf(&b, "\n\n# Knowledge graph: %s\n", g.Name)
		if g.Description != "" {
			b.WriteString(g.Description + "\n")
		}
		label := make(map[uuid.UUID]string, len(nodes))
		b.WriteString("Entities:\n")
		for i, n := range nodes {
			if i == MaxContextNodes {
				b.WriteString("- … (more entities left out)\n")
				break
			}
			label[n.ID] = n.Label
			fmt.Fprintf(&b, "- %s (%s)\n", n.Label, n.Type)
		}
		if len(edges) > 0 {
			b.WriteString("Relations:\n")
		}
		for i, e := range edges {
			if i == MaxContextEdges {
				b.WriteString("- … (more relations left out)\n")
				break
			}
			src, ok1 := label[e.SourceID]
			dst, ok2 := label[e.TargetID]
			if ok1 && ok2 {
				fmt.Fprintf(&b, "- %s —%s→ %s\n", src, e.Type, dst)
			}
		}
	}
	return b.String(), nil
}

// checkAgent refuses an agent the caller cannot read.
func (s *Service) checkAgent(ctx context.Context, id *uuid.UUID) error {
	if id == nil {
		return nil
	}
	if err := s.access.Require(ctx, authz.Agent, *id, authz.Viewer); err != nil {
		return fault.Fields(fault.FieldError{Field: "agent_id", Message: "agent not found"})
	}
	return nil
}
