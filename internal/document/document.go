// Package document is the documents service: text and markdown documents of
// a tenant, with tags and metadata, searchable, shareable under authz's
// resource rule, every change audited in the same transaction.
package document

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/google/uuid"

	"atrium/ent"
	entdoc "atrium/ent/document"
	"atrium/ent/predicate"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/resource"
)

// Audit actions.
const (
	ActionCreated = "document.created"
	ActionUpdated = "document.updated"
	ActionDeleted = "document.deleted"
)

// Limits.
const (
	MaxTitle = 300
	MaxTags  = 50
	MaxTag   = 64
)

// kind is how documents take part in the resource rule.
var kind = resource.Spec[*ent.Document]{Type: authz.Document, Manage: authz.DocumentManage, Actions: "document",
	ID: func(d *ent.Document) uuid.UUID { return d.ID }}

// Service implements documents; Get and Delete are the shared ones of
// resource.Kind.
type Service struct {
	*resource.Kind[*ent.Document]
	dialect    string
	maxContent int
}

// NewService returns a Service and registers documents with access.
// maxContent bounds a document's content in bytes.
func NewService(client *ent.Client, dia string, w *audit.Writer, access *authz.Access, maxContent int) *Service {
	deps := resource.Deps{Client: client, Audit: w, Access: access}
	return &Service{dialect: dia, maxContent: maxContent, Kind: resource.Register(deps, kind, func(c *ent.Client) *ent.DocumentClient { return c.Document })}
}

// Input creates or (with nil fields left alone) updates a document.
type Input struct {
	Title       *string
	Content     *string
	ContentType *entdoc.ContentType
	Tags        *[]string
	Metadata    map[string]string
}

func (s *Service) validate(in Input, create bool) error {
	var fs []fault.FieldError
	if create && (in.Title == nil || in.Content == nil) {
		fs = append(fs, fault.FieldError{Field: "title", Message: "title and content are required"})
	}
	fs = resource.Name(fs, "title", in.Title, MaxTitle)
	if in.Content != nil && len(*in.Content) > s.maxContent {
		fs = append(fs, fault.FieldError{Field: "content", Message: fmt.Sprintf("at most %d bytes", s.maxContent)})
	}
	if in.ContentType != nil && entdoc.ContentTypeValidator(*in.ContentType) != nil {
		fs = append(fs, fault.FieldError{Field: "content_type", Message: "text/plain or text/markdown"})
	}
	if in.Tags != nil {
		if len(*in.Tags) > MaxTags {
			fs = append(fs, fault.FieldError{Field: "tags", Message: fmt.Sprintf("at most %d tags", MaxTags)})
		}
		for _, t := range *in.Tags {
			if t == "" || utf8.RuneCountInString(t) > MaxTag {
				fs = append(fs, fault.FieldError{Field: "tags", Message: fmt.Sprintf("tags are 1 to %d characters", MaxTag)})
				break
			}
		}
	}
	if len(in.Metadata) > 50 {
		fs = append(fs, fault.FieldError{Field: "metadata", Message: "at most 50 keys"})
	}
	return fault.Fields(fs...)
}

// Create creates a document in the caller's tenant; the caller owns it.
func (s *Service) Create(ctx context.Context, in Input) (*ent.Document, error) {
	if err := s.validate(in, true); err != nil {
		return nil, err
	}
	return s.Kind.Create(ctx, func(tx *ent.Tx) (*ent.Document, error) {
		b := tx.Document.Create().SetTitle(strings.TrimSpace(*in.Title)).SetContent(*in.Content).SetMetadata(in.Metadata).
			SetNillableContentType(in.ContentType)
		if in.Tags != nil {
			b.SetTags(*in.Tags)
		}
		return b.Save(ctx)
	})
}

// ListInput selects documents.
type ListInput struct {
	Cursor string
	Limit  int
	Tag    string
	Query  string // words to find in title or content
}

// List returns the documents the caller may read, newest first.
func (s *Service) List(ctx context.Context, in ListInput) (page.Page[*ent.Document], error) {
	if utf8.RuneCountInString(in.Query) > 200 || utf8.RuneCountInString(in.Tag) > MaxTag {
		return page.Page[*ent.Document]{}, fault.Fields(fault.FieldError{Field: "q", Message: fmt.Sprintf("query at most 200 characters, tag at most %d", MaxTag)})
	}
	var where []func(*sql.Selector)
	if in.Tag != "" {
		where = append(where, func(sel *sql.Selector) { sel.Where(sqljson.ValueContains(entdoc.FieldTags, in.Tag)) })
	}
	if in.Query != "" {
		where = append(where, s.textMatch(in.Query))
	}
	return s.ListWhere(ctx, in.Cursor, in.Limit, where...)
}

// textMatch is PostgreSQL full-text search (simple configuration, so no
// language is assumed), or a case-insensitive substring match on SQLite.
func (s *Service) textMatch(q string) predicate.Document {
	if s.dialect == dialect.Postgres {
		return func(sel *sql.Selector) {
			sel.Where(sql.P(func(b *sql.Builder) {
				b.WriteString("to_tsvector('simple', ").Ident(sel.C(entdoc.FieldTitle)).WriteString(" || ' ' || ").
					Ident(sel.C(entdoc.FieldContent)).WriteString(") @@ plainto_tsquery('simple', ").Arg(q).WriteString(")")
			}))
		}
	}
	return entdoc.Or(entdoc.TitleContainsFold(q), entdoc.ContentContainsFold(q))
}

// Update changes a document; the caller needs editor access.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Input) (*ent.Document, error) {
	if err := s.validate(in, false); err != nil {
		return nil, err
	}
	return s.Kind.Update(ctx, id, nil, func(tx *ent.Tx) (*ent.Document, error) {
		u := tx.Document.UpdateOneID(id).SetNillableTitle(resource.TrimSpace(in.Title)).
			SetNillableContent(in.Content).SetNillableContentType(in.ContentType)
		if in.Tags != nil {
			u.SetTags(*in.Tags)
		}
		if in.Metadata != nil {
			u.SetMetadata(in.Metadata)
		}
		return u.Save(ctx)
	})
}
