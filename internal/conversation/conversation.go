// Package conversation is the conversations service: conversations and their
// messages, tenant-isolated by the data layer, every change audited in the
// same transaction.
package conversation

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"

	"atrium/ent"
	entconv "atrium/ent/conversation"
	"atrium/ent/message"
	"atrium/ent/share"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
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

// Service implements conversations. Access to each conversation follows
// authz's resource rule: its creator owns it; shares give users and teams
// viewer, editor or owner access; conversation.manage sees everything.
type Service struct {
	client *ent.Client
	audit  *audit.Writer
	access *authz.Access
}

// NewService returns a Service and registers conversations with access.
func NewService(client *ent.Client, w *audit.Writer, access *authz.Access) *Service {
	s := &Service{client: client, audit: w, access: access}
	access.Register(authz.Conversation, s.owners)
	return s
}

// owners implements authz.OwnerLookup.
func (s *Service) owners(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	rows, err := s.client.Conversation.Query().Where(entconv.IDIn(ids...)).
		Select(entconv.FieldID, entconv.FieldCreatedBy).All(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "conversation")
	}
	out := make(map[uuid.UUID]uuid.UUID, len(rows))
	for _, r := range rows {
		out[r.ID] = r.CreatedBy
	}
	return out, nil
}

// CreateInput creates a conversation.
type CreateInput struct {
	Title    string
	Metadata map[string]string
	// TenantID, if set, must be the caller's tenant; the data layer refuses
	// any other.
	TenantID *uuid.UUID
}

// Validate reports every problem with the input.
func (in CreateInput) Validate() error {
	var fs []fault.FieldError
	fs = checkTitle(fs, in.Title)
	fs = checkMetadata(fs, in.Metadata)
	return fault.Fields(fs...)
}

// UpdateInput changes a conversation; nil fields stay as they are.
type UpdateInput struct {
	Title    *string
	Status   *entconv.Status
	Metadata map[string]string // nil = unchanged
}

// Validate reports every problem with the input.
func (in UpdateInput) Validate() error {
	var fs []fault.FieldError
	if in.Title == nil && in.Status == nil && in.Metadata == nil {
		fs = append(fs, fault.FieldError{Field: "body", Message: "nothing to change"})
	}
	if in.Title != nil {
		fs = checkTitle(fs, *in.Title)
	}
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

func checkTitle(fs []fault.FieldError, t string) []fault.FieldError {
	if utf8.RuneCountInString(t) > MaxTitle {
		fs = append(fs, fault.FieldError{Field: "title", Message: fmt.Sprintf("at most %d characters", MaxTitle)})
	}
	return fs
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
	var c *ent.Conversation
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		b := tx.Conversation.Create().SetTitle(in.Title).SetMetadata(in.Metadata)
		if in.TenantID != nil {
			b.SetTenantID(*in.TenantID)
		}
		var err error
		if c, err = b.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionCreated, ResourceType: "conversation", ResourceID: c.ID}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "tenant")
	}
	return c, nil
}

// Get returns a conversation of the caller's tenant.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*ent.Conversation, error) {
	if err := s.access.Require(ctx, authz.Conversation, id, authz.Viewer); err != nil {
		return nil, err
	}
	c, err := s.client.Conversation.Get(ctx, id)
	return c, fault.FromEnt(err, "conversation")
}

// List returns conversations, newest first.
func (s *Service) List(ctx context.Context, in ListInput) (page.Page[*ent.Conversation], error) {
	p, err := page.List(in.Cursor, in.Limit, func(after uuid.UUID, n int) ([]*ent.Conversation, error) {
		q := s.client.Conversation.Query().Where(s.access.Visible(ctx, authz.Conversation)).
			Order(ent.Desc(entconv.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(entconv.IDLT(after))
		}
		if in.Status != nil {
			q.Where(entconv.StatusEQ(*in.Status))
		}
		return q.All(ctx)
	}, func(c *ent.Conversation) uuid.UUID { return c.ID })
	return p, fault.FromEnt(err, "conversation")
}

// Update changes a conversation.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (*ent.Conversation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.access.Require(ctx, authz.Conversation, id, authz.Editor); err != nil {
		return nil, err
	}
	var c *ent.Conversation
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		u := tx.Conversation.UpdateOneID(id)
		if in.Title != nil {
			u.SetTitle(*in.Title)
		}
		if in.Status != nil {
			u.SetStatus(*in.Status)
		}
		if in.Metadata != nil {
			u.SetMetadata(in.Metadata)
		}
		var err error
		if c, err = u.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionUpdated, ResourceType: "conversation", ResourceID: id}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "conversation")
	}
	return c, nil
}

// Delete deletes a conversation and its messages.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := s.access.Require(ctx, authz.Conversation, id, authz.Owner); err != nil {
		return err
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		// Look the conversation up first so another tenant's id is "not found"
		// before anything is touched.
		if _, err := tx.Conversation.Get(ctx, id); err != nil {
			return audit.Event{}, err
		}
		if _, err := tx.Message.Delete().Where(message.ConversationID(id)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if _, err := tx.Share.Delete().Where(share.ResourceTypeEQ(share.ResourceTypeConversation), share.ResourceID(id)).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		if err := tx.Conversation.DeleteOneID(id).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionDeleted, ResourceType: "conversation", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "conversation")
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

// AppendMessage appends a message to a conversation of the caller's tenant.
func (s *Service) AppendMessage(ctx context.Context, conversationID uuid.UUID, in AppendInput) (*ent.Message, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.access.Require(ctx, authz.Conversation, conversationID, authz.Editor); err != nil {
		return nil, err
	}
	var m *ent.Message
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if _, err := tx.Conversation.Get(ctx, conversationID); err != nil {
			return audit.Event{}, err
		}
		var err error
		m, err = tx.Message.Create().
			SetConversationID(conversationID).
			SetRole(in.Role).
			SetContent(in.Content).
			Save(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionMessageAppend, ResourceType: "message", ResourceID: m.ID,
			Details: map[string]string{"conversation_id": conversationID.String()}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "conversation")
	}
	return m, nil
}
