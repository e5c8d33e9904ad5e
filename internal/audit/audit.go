// Package audit writes the audit trail. A data change and its audit event
// commit in one transaction (Record); auth events outside a data change are
// written on their own (Log). Events carry IDs and codes only, never personal
// data.
package audit

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/internal/requestid"
	"atrium/internal/viewer"
)

// Outcomes.
const (
	Success = auditevent.OutcomeSuccess
	Failure = auditevent.OutcomeFailure
	Denied  = auditevent.OutcomeDenied
)

// Event is one audit record. Actor, tenant, session and request id are taken
// from the context unless set.
type Event struct {
	Action       string
	ResourceType string
	ResourceID   uuid.UUID
	Outcome      auditevent.Outcome
	TenantID     uuid.UUID
	Actor        uuid.UUID
	Details      map[string]string // IDs and codes only
}

// Writer writes audit events.
type Writer struct {
	client *ent.Client
	log    *slog.Logger
}

// NewWriter returns a Writer on client.
func NewWriter(client *ent.Client, log *slog.Logger) *Writer {
	return &Writer{client: client, log: log}
}

// Record writes e inside tx, so it commits or rolls back with the change.
func (w *Writer) Record(ctx context.Context, tx *ent.Tx, e Event) error {
	return create(ctx, tx.AuditEvent, e)
}

// Log writes e on its own, for events that are not part of a data change
// (logins, denials). A failure is logged, not returned: an audit outage must
// not turn a denial into a 500.
func (w *Writer) Log(ctx context.Context, e Event) {
	if err := create(ctx, w.client.AuditEvent, e); err != nil {
		w.log.ErrorContext(ctx, "audit write failed", "action", e.Action, "err", err)
	}
}

func create(ctx context.Context, c *ent.AuditEventClient, e Event) error {
	v := viewer.FromContext(ctx)
	if e.Outcome == "" {
		e.Outcome = Success
	}
	if v != nil {
		if e.TenantID == uuid.Nil {
			e.TenantID = v.TenantID
		}
		if e.Actor == uuid.Nil {
			e.Actor = v.UserID
		}
	}
	b := c.Create().
		SetAction(e.Action).
		SetOutcome(e.Outcome).
		SetResourceType(e.ResourceType).
		SetRequestID(requestid.FromContext(ctx))
	if e.TenantID != uuid.Nil {
		b.SetTenantID(e.TenantID)
	}
	if e.Actor != uuid.Nil {
		b.SetActor(e.Actor)
	}
	if v != nil && v.SessionID != uuid.Nil {
		b.SetSessionID(v.SessionID)
	}
	if e.ResourceID != uuid.Nil {
		b.SetResourceID(e.ResourceID)
	}
	if len(e.Details) > 0 {
		b.SetDetails(e.Details)
	}
	// The audit writer records on behalf of whoever acted; the system viewer
	// lets it write tenant-less auth events too.
	if _, err := b.Save(viewer.System(ctx, "audit write")); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Change runs fn in a transaction and records the event it returns in the
// same transaction: the change and its audit event commit together or not at
// all. fn's error rolls everything back.
func (w *Writer) Change(ctx context.Context, fn func(tx *ent.Tx) (Event, error)) error {
	tx, err := w.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	ev, err := fn(tx)
	if err == nil {
		err = w.Record(ctx, tx, ev)
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
