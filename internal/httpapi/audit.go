package httpapi

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/gen/api"
	"atrium/internal/audit"
	"atrium/internal/page"
)

// AuditTrail is what the handler needs to read the audit trail.
type AuditTrail interface {
	List(ctx context.Context, f audit.Filter, cursor string, limit int) (page.Page[*ent.AuditEvent], error)
	Export(ctx context.Context, f audit.Filter, w io.Writer) error
	Verify(ctx context.Context) (audit.ChainReport, error)
}

func auditFilter(actor, resourceID api.OptUUID, action, resourceType api.OptString, outcome api.OptAuditOutcome, since, until api.OptDateTime) audit.Filter {
	var f audit.Filter
	opt := func(o api.OptUUID) *uuid.UUID {
		if v, ok := o.Get(); ok {
			return &v
		}
		return nil
	}
	optT := func(o api.OptDateTime) *time.Time {
		if v, ok := o.Get(); ok {
			return &v
		}
		return nil
	}
	f.Actor, f.ResourceID = opt(actor), opt(resourceID)
	f.Action, f.ResourceType = action.Or(""), resourceType.Or("")
	if o, ok := outcome.Get(); ok {
		f.Outcome = string(o)
	}
	f.Since, f.Until = optT(since), optT(until)
	return f
}

// ListAuditEvents implements listAuditEvents.
// GET /audit-events
func (h *Handler) ListAuditEvents(ctx context.Context, p api.ListAuditEventsParams) (*api.AuditEventPage, error) {
	f := auditFilter(p.Actor, p.ResourceID, p.Action, p.ResourceType, p.Outcome, p.Since, p.Until)
	pg, err := h.audit.List(ctx, f, p.Cursor.Or(""), p.Limit.Or(0))
	if err != nil {
		return nil, err
	}
	out := &api.AuditEventPage{Items: make([]api.AuditEvent, 0, len(pg.Items))}
	for _, e := range pg.Items {
		out.Items = append(out.Items, toAuditEvent(e))
	}
	if pg.NextCursor != "" {
		out.NextCursor = api.NewOptString(pg.NextCursor)
	}
	return out, nil
}

// ExportAuditEvents implements exportAuditEvents.
// GET /audit-events/export
func (h *Handler) ExportAuditEvents(ctx context.Context, p api.ExportAuditEventsParams) (api.ExportAuditEventsOK, error) {
	f := auditFilter(p.Actor, p.ResourceID, p.Action, p.ResourceType, p.Outcome, p.Since, p.Until)
	pr, pw := io.Pipe()
	go func() {
		err := h.audit.Export(ctx, f, pw)
		if err != nil {
			h.log.ErrorContext(ctx, "audit export failed", "err", err)
		}
		pw.CloseWithError(err)
	}()
	return api.ExportAuditEventsOK{Data: pr}, nil
}

// VerifyAuditChain implements verifyAuditChain.
// GET /audit-events/verify
func (h *Handler) VerifyAuditChain(ctx context.Context) (*api.AuditChainVerification, error) {
	rep, err := h.audit.Verify(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.AuditChainVerification{Verified: len(rep.Problems) == 0, Events: int64(rep.Events),
		Unchained: int64(rep.Unchained), HeadSeq: rep.Head}
	if len(rep.Problems) > 0 {
		p := rep.Problems[0]
		out.BrokenSeq = api.NewOptInt64(p.Seq)
		out.Reason = api.NewOptAuditChainVerificationReason(api.AuditChainVerificationReason(p.Kind))
	}
	return out, nil
}

func toAuditEvent(e *ent.AuditEvent) api.AuditEvent {
	r := audit.RecordOf(e)
	out := api.AuditEvent{ID: r.ID, OccurredAt: r.OccurredAt, Action: r.Action, Outcome: api.AuditEventOutcome(r.Outcome),
		Chain: r.Chain, Seq: r.Seq, Hash: r.Hash}
	set := func(dst *api.OptUUID, v *uuid.UUID) {
		if v != nil {
			*dst = api.NewOptUUID(*v)
		}
	}
	set(&out.TenantID, r.TenantID)
	set(&out.Actor, r.Actor)
	set(&out.SessionID, r.SessionID)
	set(&out.ResourceID, r.ResourceID)
	if r.ResourceType != "" {
		out.ResourceType = api.NewOptString(r.ResourceType)
	}
	if r.RequestID != "" {
		out.RequestID = api.NewOptString(r.RequestID)
	}
	if len(r.Details) > 0 {
		out.Details = api.NewOptAuditEventDetails(r.Details)
	}
	return out
}
