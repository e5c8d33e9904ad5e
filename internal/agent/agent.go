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
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/resource"
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

// kind is how agents take part in the resource rule.
var kind = resource.Spec[*ent.Agent]{Type: authz.Agent, Manage: authz.AgentManage, Actions: "agent",
	ID: func(a *ent.Agent) uuid.UUID { return a.ID }}

// Service implements agents; Get, List and Delete are the shared ones of
// resource.Kind.
type Service struct {
	*resource.Kind[*ent.Agent]
	access *authz.Access
}

// NewService returns a Service and registers agents with access.
func NewService(client *ent.Client, w *audit.Writer, access *authz.Access) *Service {
	deps := resource.Deps{Client: client, Audit: w, Access: access}
	return &Service{access: access, Kind: resource.Register(deps, kind, func(c *ent.Client) *ent.AgentClient { return c.Agent })}
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
	fs = resource.Name(fs, "name", in.Name, 200)
	fs = resource.Text(fs, "description", in.Description, 2000)
	fs = resource.Text(fs, "instructions", in.Instructions, MaxInstructions)
	if in.Model != nil && (*in.Model == "" || utf8.RuneCountInString(*in.Model) > 200) {
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
	return s.Kind.Create(ctx, func(tx *ent.Tx) (*ent.Agent, error) {
		b := tx.Agent.Create().SetName(strings.TrimSpace(*in.Name)).SetModel(*in.Model).
			SetNillableDescription(in.Description).SetNillableInstructions(in.Instructions).
			SetNillableTemperature(in.Temperature).SetNillableMaxTokens(in.MaxTokens)
		setReferences(b.Mutation(), in)
		return b.Save(ctx)
	})
}

// Update changes an agent; the caller needs editor access.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Input) (*ent.Agent, error) {
	if err := validate(in, false); err != nil {
		return nil, err
	}
	check := func(ctx context.Context) error { return s.checkDocuments(ctx, in) }
	return s.Kind.Update(ctx, id, check, func(tx *ent.Tx) (*ent.Agent, error) {
		u := tx.Agent.UpdateOneID(id).SetNillableName(resource.TrimSpace(in.Name)).SetNillableDescription(in.Description).
			SetNillableInstructions(in.Instructions).SetNillableModel(in.Model).
			SetNillableTemperature(in.Temperature).SetNillableMaxTokens(in.MaxTokens)
		setReferences(u.Mutation(), in)
		return u.Save(ctx)
	})
}

// setReferences sets the context documents and graphs the input names.
func setReferences(m *ent.AgentMutation, in Input) {
	if in.DocumentIDs != nil {
		m.SetDocumentIds(*in.DocumentIDs)
	}
	if in.GraphIDs != nil {
		m.SetKnowledgeGraphIds(*in.GraphIDs)
	}
}
