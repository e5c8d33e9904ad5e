// Package agent is the agents service: configured assistants of a tenant
// (instructions, model, parameters, context documents), shareable under
// authz's resource rule, every change audited in the same transaction.
package agent

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"atrium/ent"
	entagent "atrium/ent/agent"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
)

// Audit actions.
const (
	ActionCreated = "agent.created"
	ActionUpdated = "agent.updated"
	ActionDeleted = "agent.deleted"
)

// Limits.
const (
	MaxInstructions = 32000
	MaxDocuments    = 50
)

// Service implements agents.
type Service struct {
	client *ent.Client
	audit  *audit.Writer
	access *authz.Access
}

// NewService returns a Service and registers agents with access.
func NewService(client *ent.Client, w *audit.Writer, access *authz.Access) *Service {
	s := &Service{client: client, audit: w, access: access}
	access.Register(authz.Agent, s.owners)
	return s
}

func (s *Service) owners(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	return authz.Owners(func(ctx context.Context, ids []uuid.UUID) ([]*ent.Agent, error) {
		return s.client.Agent.Query().Where(entagent.IDIn(ids...)).Select(entagent.FieldID, entagent.FieldCreatedBy).All(ctx)
	}, func(r *ent.Agent) uuid.UUID { return r.ID }, func(r *ent.Agent) uuid.UUID { return r.CreatedBy })(ctx, ids)
}

// Input creates or (nil fields left alone) updates an agent.
type Input struct {
	Name         *string
	Description  *string
	Instructions *string
	Model        *string
	Temperature  *float64
	MaxTokens    *int
	DocumentIDs  *[]uuid.UUID
	GraphIDs     *[]uuid.UUID
}

func validate(in Input, create bool) error {
	var fs []fault.FieldError
	if create && (in.Name == nil || in.Model == nil) {
		fs = append(fs, fault.FieldError{Field: "name", Message: "name and model are required"})
	}
	if in.Name != nil && (strings.TrimSpace(*in.Name) == "" || utf8.RuneCountInString(*in.Name) > 200) {
		fs = append(fs, fault.FieldError{Field: "name", Message: "1 to 200 characters"})
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 2000 {
		fs = append(fs, fault.FieldError{Field: "description", Message: "at most 2000 characters"})
	}
	if in.Instructions != nil && utf8.RuneCountInString(*in.Instructions) > MaxInstructions {
		fs = append(fs, fault.FieldError{Field: "instructions", Message: fmt.Sprintf("at most %d characters", MaxInstructions)})
	}
	if in.Model != nil && (*in.Model == "" || len(*in.Model) > 200) {
		fs = append(fs, fault.FieldError{Field: "model", Message: "1 to 200 characters"})
	}
	if in.Temperature != nil && (*in.Temperature < 0 || *in.Temperature > 2) {
		fs = append(fs, fault.FieldError{Field: "temperature", Message: "between 0 and 2"})
	}
	if in.MaxTokens != nil && (*in.MaxTokens < 1 || *in.MaxTokens > 1_000_000) {
		fs = append(fs, fault.FieldError{Field: "max_tokens", Message: "between 1 and 1000000"})
	}
	if in.GraphIDs != nil && len(*in.GraphIDs) > MaxDocuments {
		fs = append(fs, fault.FieldError{Field: "knowledge_graph_ids", Message: fmt.Sprintf("at most %d graphs", MaxDocuments)})
	}
	if in.DocumentIDs != nil && len(*in.DocumentIDs) > MaxDocuments {
		fs = append(fs, fault.FieldError{Field: "document_ids", Message: fmt.Sprintf("at most %d documents", MaxDocuments)})
	}
	return fault.Fields(fs...)
}

// checkDocuments refuses documents and graphs the caller cannot read.
func (s *Service) checkDocuments(ctx context.Context, in Input) error {
	if in.DocumentIDs != nil {
		if err := s.access.RequireReadable(ctx, authz.Document, *in.DocumentIDs, "document_ids"); err != nil {
			return err
		}
	}
	if in.GraphIDs != nil {
		return s.access.RequireReadable(ctx, authz.KnowledgeGraph, *in.GraphIDs, "knowledge_graph_ids")
	}
	return nil
}

// Create creates an agent; the caller owns it.
func (s *Service) Create(ctx context.Context, in Input) (*ent.Agent, error) {
	if err := validate(in, true); err != nil {
		return nil, err
	}
	if err := s.checkDocuments(ctx, in); err != nil {
		return nil, err
	}
	var a *ent.Agent
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		b := tx.Agent.Create().SetName(strings.TrimSpace(*in.Name)).SetModel(*in.Model).
			SetNillableDescription(in.Description).SetNillableInstructions(in.Instructions).
			SetNillableTemperature(in.Temperature).SetNillableMaxTokens(in.MaxTokens)
		if in.DocumentIDs != nil {
			b.SetDocumentIds(*in.DocumentIDs)
		}
		if in.GraphIDs != nil {
			b.SetKnowledgeGraphIds(*in.GraphIDs)
		}
		var err error
		if a, err = b.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionCreated, ResourceType: "agent", ResourceID: a.ID}, nil
	})
	return a, fault.FromEnt(err, "agent")
}

// Get returns an agent the caller may read.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*ent.Agent, error) {
	if err := s.access.Require(ctx, authz.Agent, id, authz.Viewer); err != nil {
		return nil, err
	}
	a, err := s.client.Agent.Get(ctx, id)
	return a, fault.FromEnt(err, "agent")
}

// List returns the agents the caller may read, newest first.
func (s *Service) List(ctx context.Context, cursor string, limit int) (page.Page[*ent.Agent], error) {
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.Agent, error) {
		q := s.client.Agent.Query().Where(s.access.Visible(ctx, authz.Agent)).Order(ent.Desc(entagent.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(entagent.IDLT(after))
		}
		return q.All(ctx)
	}, func(a *ent.Agent) uuid.UUID { return a.ID })
	return p, fault.FromEnt(err, "agent")
}

// Update changes an agent; the caller needs editor access.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Input) (*ent.Agent, error) {
	if err := validate(in, false); err != nil {
		return nil, err
	}
	if err := s.access.Require(ctx, authz.Agent, id, authz.Editor); err != nil {
		return nil, err
	}
	if err := s.checkDocuments(ctx, in); err != nil {
		return nil, err
	}
	var a *ent.Agent
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		u := tx.Agent.UpdateOneID(id)
		if in.Name != nil {
			u.SetName(strings.TrimSpace(*in.Name))
		}
		if in.Description != nil {
			u.SetDescription(*in.Description)
		}
		if in.Instructions != nil {
			u.SetInstructions(*in.Instructions)
		}
		if in.Model != nil {
			u.SetModel(*in.Model)
		}
		if in.Temperature != nil {
			u.SetTemperature(*in.Temperature)
		}
		if in.MaxTokens != nil {
			u.SetMaxTokens(*in.MaxTokens)
		}
		if in.DocumentIDs != nil {
			u.SetDocumentIds(*in.DocumentIDs)
		}
		if in.GraphIDs != nil {
			u.SetKnowledgeGraphIds(*in.GraphIDs)
		}
		var err error
		if a, err = u.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionUpdated, ResourceType: "agent", ResourceID: id}, nil
	})
	return a, fault.FromEnt(err, "agent")
}

// Delete deletes an agent and its shares; the caller needs owner access.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := s.access.Require(ctx, authz.Agent, id, authz.Owner); err != nil {
		return err
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if err := authz.DeleteShares(ctx, tx, authz.Agent, id); err != nil {
			return audit.Event{}, err
		}
		if err := tx.Agent.DeleteOneID(id).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionDeleted, ResourceType: "agent", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "agent")
}
