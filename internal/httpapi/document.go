package httpapi

import (
	"context"

	"github.com/google/uuid"

	"atrium/ent"
	entdoc "atrium/ent/document"
	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/document"
	"atrium/internal/page"
)

// Documents is what the handler needs of the documents service.
type Documents interface {
	Create(ctx context.Context, in document.Input) (*ent.Document, error)
	Get(ctx context.Context, id uuid.UUID) (*ent.Document, error)
	List(ctx context.Context, in document.ListInput) (page.Page[*ent.Document], error)
	Update(ctx context.Context, id uuid.UUID, in document.Input) (*ent.Document, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

// CreateDocument implements createDocument.
// POST /documents
func (h *Handler) CreateDocument(ctx context.Context, req *api.DocumentCreate) (*api.Document, error) {
	in := document.Input{Title: &req.Title, Content: &req.Content, Metadata: req.Metadata.Value}
	if ct, ok := req.ContentType.Get(); ok {
		c := entdoc.ContentType(ct)
		in.ContentType = &c
	}
	if req.Tags != nil {
		in.Tags = &req.Tags
	}
	return docOut(h.documents.Create(ctx, in))
}

// ListDocuments implements listDocuments.
// GET /documents
func (h *Handler) ListDocuments(ctx context.Context, p api.ListDocumentsParams) (*api.DocumentPage, error) {
	pg, err := h.documents.List(ctx, document.ListInput{Cursor: p.Cursor.Or(""), Limit: p.Limit.Or(0), Tag: p.Tag.Or(""), Query: p.Q.Or("")})
	if err != nil {
		return nil, err
	}
	out := &api.DocumentPage{Items: make([]api.Document, 0, len(pg.Items))}
	for _, d := range pg.Items {
		out.Items = append(out.Items, *toDocument(d))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// GetDocument implements getDocument.
// GET /documents/{documentId}
func (h *Handler) GetDocument(ctx context.Context, p api.GetDocumentParams) (*api.Document, error) {
	return docOut(h.documents.Get(ctx, p.DocumentId))
}

// UpdateDocument implements updateDocument.
// PATCH /documents/{documentId}
func (h *Handler) UpdateDocument(ctx context.Context, req *api.DocumentUpdate, p api.UpdateDocumentParams) (*api.Document, error) {
	var in document.Input
	if v, ok := req.Title.Get(); ok {
		in.Title = &v
	}
	if v, ok := req.Content.Get(); ok {
		in.Content = &v
	}
	if v, ok := req.ContentType.Get(); ok {
		c := entdoc.ContentType(v)
		in.ContentType = &c
	}
	if req.Tags != nil {
		in.Tags = &req.Tags
	}
	if md, ok := req.Metadata.Get(); ok {
		in.Metadata = md
		if in.Metadata == nil {
			in.Metadata = map[string]string{}
		}
	}
	return docOut(h.documents.Update(ctx, p.DocumentId, in))
}

// DeleteDocument implements deleteDocument.
// DELETE /documents/{documentId}
func (h *Handler) DeleteDocument(ctx context.Context, p api.DeleteDocumentParams) error {
	return h.documents.Delete(ctx, p.DocumentId)
}

// ListDocumentShares implements listDocumentShares.
// GET /documents/{documentId}/shares
func (h *Handler) ListDocumentShares(ctx context.Context, p api.ListDocumentSharesParams) (*api.ShareList, error) {
	return h.listShares(ctx, authz.Document, p.DocumentId)
}

// ShareDocument implements shareDocument.
// POST /documents/{documentId}/shares
func (h *Handler) ShareDocument(ctx context.Context, req *api.ShareCreate, p api.ShareDocumentParams) (*api.Share, error) {
	return h.share(ctx, authz.Document, p.DocumentId, req)
}

// RevokeDocumentShare implements revokeDocumentShare.
// DELETE /documents/{documentId}/shares/{shareId}
func (h *Handler) RevokeDocumentShare(ctx context.Context, p api.RevokeDocumentShareParams) error {
	return h.shares.Revoke(ctx, authz.Document, p.DocumentId, p.ShareId)
}

func toDocument(d *ent.Document) *api.Document {
	out := &api.Document{ID: d.ID, TenantID: d.TenantID, Title: d.Title, Content: d.Content,
		ContentType: api.DocumentContentType(d.ContentType), Tags: d.Tags, CreatedBy: d.CreatedBy, UpdatedBy: d.UpdatedBy,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if len(d.Metadata) > 0 {
		out.Metadata = api.NewOptMetadata(d.Metadata)
	}
	return out
}

func docOut(d *ent.Document, err error) (*api.Document, error) {
	if err != nil {
		return nil, err
	}
	return toDocument(d), nil
}
