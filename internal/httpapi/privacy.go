package httpapi

import (
	"context"

	"github.com/go-faster/jx"
	"github.com/google/uuid"

	"atrium/gen/api"
	"atrium/internal/fault"
)

// Privacy is what the handler needs of the GDPR service.
type Privacy interface {
	Export(ctx context.Context) ([]byte, error)
	EraseMe(ctx context.Context) error
	EraseMember(ctx context.Context, userID uuid.UUID) error
}

// ExportMyData implements exportMyData.
// GET /me/export
func (h *Handler) ExportMyData(ctx context.Context) (api.DataExport, error) {
	b, err := h.privacy.Export(ctx)
	if err != nil {
		return nil, err
	}
	var out api.DataExport
	if err := out.Decode(jx.DecodeBytes(b)); err != nil {
		return nil, fault.Wrap(err, fault.Internal, "internal error")
	}
	return out, nil
}

// EraseMe implements eraseMe.
// DELETE /me?confirm=ERASE
func (h *Handler) EraseMe(ctx context.Context, _ api.EraseMeParams) error {
	return h.privacy.EraseMe(ctx)
}

// EraseMember implements eraseMember.
// POST /members/{userId}/erasure
func (h *Handler) EraseMember(ctx context.Context, _ *api.ErasureConfirm, p api.EraseMemberParams) error {
	return h.privacy.EraseMember(ctx, p.UserId)
}
