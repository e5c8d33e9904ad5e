package audit

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/predicate"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/ratelimit"
	"atrium/internal/viewer"
)

// Filter selects audit events.
type Filter struct {
	Actor        *uuid.UUID // a user id; matched through their pseudonym
	Action       string
	ResourceType string
	ResourceID   *uuid.UUID
	Outcome      string
	Since, Until *time.Time
}

// Reader queries the viewer's tenant's audit trail.
type Reader struct {
	client *ent.Client
	limits Limiter
}

// Limiter counts requests against a rate limit (ratelimit.Policy).
type Limiter interface {
	Check(ctx context.Context, scope, key string) error
}

// NewReader returns a Reader.
func NewReader(client *ent.Client) *Reader { return &Reader{client: client} }

// WithVerifyLimit makes Verify count each call against limits' user scope,
// keyed by the tenant: a verification reads the whole chain, so a tenant's
// admins together get the allowance of one person, however many there are.
func (r *Reader) WithVerifyLimit(limits Limiter) *Reader {
	r.limits = limits
	return r
}

// Verify checks the viewer's tenant's chain with the code of `atrium audit
// verify`, reading only the tenant's rows, and stops at the first problem.
func (r *Reader) Verify(ctx context.Context) (ChainReport, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == uuid.Nil {
		return ChainReport{}, fault.New(fault.Forbidden, "no tenant")
	}
	if r.limits != nil {
		if err := r.limits.Check(ctx, ratelimit.ScopeUser, "audit-verify:"+v.TenantID.String()); err != nil {
			return ChainReport{}, err
		}
	}
	rep, err := verifyChain(ctx, r.client, v.TenantID.String(), 1)
	return rep, fault.FromEnt(err, "audit event")
}

// where turns f into predicates; ok is false when nothing can match.
func (r *Reader) where(ctx context.Context, f Filter) (ps []predicate.AuditEvent, ok bool) {
	v := viewer.FromContext(ctx)
	ps = append(ps, auditevent.TenantID(v.TenantID))
	if f.Actor != nil {
		ref, found := Pseudonym(ctx, r.client, *f.Actor)
		if !found {
			return nil, false
		}
		ps = append(ps, auditevent.Actor(ref))
	}
	if f.Action != "" {
		ps = append(ps, auditevent.Action(f.Action))
	}
	if f.ResourceType != "" {
		ps = append(ps, auditevent.ResourceType(f.ResourceType))
	}
	if f.ResourceID != nil {
		ps = append(ps, auditevent.ResourceID(*f.ResourceID))
	}
	if f.Outcome != "" {
		ps = append(ps, auditevent.OutcomeEQ(auditevent.Outcome(f.Outcome)))
	}
	if f.Since != nil {
		ps = append(ps, auditevent.OccurredAtGTE(*f.Since))
	}
	if f.Until != nil {
		ps = append(ps, auditevent.OccurredAtLT(*f.Until))
	}
	return ps, true
}

// List returns a page of events, newest first.
func (r *Reader) List(ctx context.Context, f Filter, cursor string, limit int) (page.Page[*ent.AuditEvent], error) {
	ps, ok := r.where(ctx, f)
	if !ok {
		_, _, err := page.Args(cursor, limit)
		return page.Page[*ent.AuditEvent]{}, err
	}
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.AuditEvent, error) {
		q := r.client.AuditEvent.Query().Where(ps...).Order(ent.Desc(auditevent.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(auditevent.IDLT(after))
		}
		return q.All(ctx)
	}, func(e *ent.AuditEvent) uuid.UUID { return e.ID })
	return p, fault.FromEnt(err, "audit event")
}

// Record is the exported form of an event (API and NDJSON export).
type Record struct {
	ID           uuid.UUID         `json:"id"`
	OccurredAt   time.Time         `json:"occurred_at"`
	TenantID     *uuid.UUID        `json:"tenant_id,omitempty"`
	Action       string            `json:"action"`
	Outcome      string            `json:"outcome"`
	Actor        *uuid.UUID        `json:"actor,omitempty"`
	SessionID    *uuid.UUID        `json:"session_id,omitempty"`
	ResourceType string            `json:"resource_type,omitempty"`
	ResourceID   *uuid.UUID        `json:"resource_id,omitempty"`
	RequestID    string            `json:"request_id,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
	Chain        string            `json:"chain"`
	Seq          int64             `json:"seq"`
	PrevHash     string            `json:"prev_hash,omitempty"`
	Hash         string            `json:"hash"`
}

// RecordOf converts an event.
func RecordOf(e *ent.AuditEvent) Record {
	return Record{ID: e.ID, OccurredAt: e.OccurredAt, TenantID: e.TenantID, Action: e.Action, Outcome: string(e.Outcome),
		Actor: e.Actor, SessionID: e.SessionID, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		RequestID: e.RequestID, Details: e.Details, Chain: e.Chain, Seq: e.Seq,
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}

// Export writes the matching events as NDJSON, oldest first, in batches, so
// a trail of any size streams in constant memory.
func (r *Reader) Export(ctx context.Context, f Filter, w io.Writer) error {
	ps, ok := r.where(ctx, f)
	if !ok {
		return nil
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var after uuid.UUID
	const batch = 500
	for {
		q := r.client.AuditEvent.Query().Where(ps...).Order(ent.Asc(auditevent.FieldID)).Limit(batch)
		if after != uuid.Nil {
			q.Where(auditevent.IDGT(after))
		}
		evs, err := q.All(ctx)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := enc.Encode(RecordOf(e)); err != nil {
				return err
			}
			after = e.ID
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if len(evs) < batch {
			return nil
		}
	}
}
