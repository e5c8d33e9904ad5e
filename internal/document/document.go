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

// Service implements documents.
type Service struct {
	client     *ent.Client
	dialect    string
	audit      *audit.Writer
	access     *authz.Access
	maxContent int
}

// NewService returns a Service and registers documents with access.
// maxContent bounds a document's content in bytes.
func NewService(client *ent.Client, dia string, w *audit.Writer, access *authz.Access, maxContent int) *Service {
	s := &Service{client: client, dialect: dia, audit: w, access: access, maxContent: maxContent}
	access.Register(authz.Document, s.owners)
	return s
}

func (s *Service) owners(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	return authz.Owners(func(ctx context.Context, ids []uuid.UUID) ([]*ent.Document, error) {
		return s.client.Document.Query().Where(entdoc.IDIn(ids...)).Select(entdoc.FieldID, entdoc.FieldCreatedBy).All(ctx)
	}, func(r *ent.Document) uuid.UUID { return r.ID }, func(r *ent.Document) uuid.UUID { return r.CreatedBy })(ctx, ids)
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
	if in.Title != nil && (strings.TrimSpace(*in.Title) == "" || utf8.RuneCountInString(*in.Title) > MaxTitle) {
		fs = append(fs, fault.FieldError{Field: "title", Message: fmt.Sprintf("1 to %d characters", MaxTitle)})
	}
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
			if t == "" || len(t) > MaxTag {
				fs = append(fs, fault.FieldError{Field: "tags", Message: fmt.Sprintf("tags are 1 to %d bytes", MaxTag)})
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
	var d *ent.Document
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		b := tx.Document.Create().SetTitle(strings.TrimSpace(*in.Title)).SetContent(*in.Content).SetMetadata(in.Metadata)
		if in.ContentType != nil {
			b.SetContentType(*in.ContentType)
		}
		if in.Tags != nil {
			b.SetTags(*in.Tags)
		}
		var err error
		if d, err = b.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionCreated, ResourceType: "document", ResourceID: d.ID}, nil
	})
	return d, fault.FromEnt(err, "document")
}

// Get returns a document the caller may read.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*ent.Document, error) {
	if err := s.access.Require(ctx, authz.Document, id, authz.Viewer); err != nil {
		return nil, err
	}
	d, err := s.client.Document.Get(ctx, id)
	return d, fault.FromEnt(err, "document")
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
	if len(in.Query) > 200 || len(in.Tag) > MaxTag {
		return page.Page[*ent.Document]{}, fault.Fields(fault.FieldError{Field: "q", Message: "query at most 200 bytes, tag at most 64"})
	}
	p, err := page.List(in.Cursor, in.Limit, func(after uuid.UUID, n int) ([]*ent.Document, error) {
		q := s.client.Document.Query().Where(s.access.Visible(ctx, authz.Document)).Order(ent.Desc(entdoc.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(entdoc.IDLT(after))
		}
		if in.Tag != "" {
			q.Where(func(sel *sql.Selector) { sel.Where(sqljson.ValueContains(entdoc.FieldTags, in.Tag)) })
		}
		if in.Query != "" {
			q.Where(s.textMatch(in.Query))
		}
		return q.All(ctx)
	}, func(d *ent.Document) uuid.UUID { return d.ID })
	return p, fault.FromEnt(err, "document")
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
	if err := s.access.Require(ctx, authz.Document, id, authz.Editor); err != nil {
		return nil, err
	}
	var d *ent.Document
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		u := tx.Document.UpdateOneID(id)
		if in.Title != nil {
			u.SetTitle(strings.TrimSpace(*in.Title))
		}
		if in.Content != nil {
			u.SetContent(*in.Content)
		}
		if in.ContentType != nil {
			u.SetContentType(*in.ContentType)
		}
		if in.Tags != nil {
			u.SetTags(*in.Tags)
		}
		if in.Metadata != nil {
			u.SetMetadata(in.Metadata)
		}
		var err error
		if d, err = u.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionUpdated, ResourceType: "document", ResourceID: id}, nil
	})
	return d, fault.FromEnt(err, "document")
}

// Delete deletes a document and its shares; the caller needs owner access.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := s.access.Require(ctx, authz.Document, id, authz.Owner); err != nil {
		return err
	}
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if err := authz.DeleteShares(ctx, tx, authz.Document, id); err != nil {
			return audit.Event{}, err
		}
		if err := tx.Document.DeleteOneID(id).Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionDeleted, ResourceType: "document", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "document")
}
