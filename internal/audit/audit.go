// Package audit writes the audit trail. A data change and its audit event
// commit in one transaction (Record); auth events outside a data change are
// written on their own (Log). Events carry IDs and codes only, never personal
// data.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/actorref"
	"atrium/ent/auditevent"
	"atrium/internal/fault"
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
	client   *ent.Client
	dialect  string
	log      *slog.Logger
	refs     sync.Map // user id -> pseudonym, for refs known to be committed
	onAppend func(error)
	heads    sync.Map     // chain -> head: the last link this writer appended (PostgreSQL)
	fast     atomic.Int64 // appends written by appendAfterHead (tests)
}

// OnAppend makes the writer call fn after each attempt to append an event
// to its chain (nil error: appended), for the instance's metrics. Call it
// before the writer is used.
func (w *Writer) OnAppend(fn func(error)) { w.onAppend = fn }

// pseudonym returns the user's audit pseudonym, creating it in tx if needed.
func (w *Writer) pseudonym(ctx context.Context, tx *ent.Tx, userID uuid.UUID) (uuid.UUID, error) {
	if ref, ok := w.refs.Load(userID); ok {
		return ref.(uuid.UUID), nil
	}
	ref, err := tx.ActorRef.Query().Where(actorref.UserID(userID)).Only(ctx)
	if err == nil {
		w.refs.Store(userID, ref.ID) // committed earlier: safe to remember
		return ref.ID, nil
	}
	if !ent.IsNotFound(err) {
		return uuid.Nil, err
	}
	if err := tx.ActorRef.Create().SetUserID(userID).OnConflictColumns(actorref.FieldUserID).Ignore().Exec(ctx); err != nil {
		return uuid.Nil, err
	}
	ref, err = tx.ActorRef.Query().Where(actorref.UserID(userID)).Only(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	return ref.ID, nil
}

// Forget drops the writer's memory of a user's pseudonym (after erasure).
func (w *Writer) Forget(userID uuid.UUID) { w.refs.Delete(userID) }

// Pseudonym returns the audit pseudonym of a user, if they have one.
func Pseudonym(ctx context.Context, client *ent.Client, userID uuid.UUID) (uuid.UUID, bool) {
	ref, err := client.ActorRef.Query().Where(actorref.UserID(userID)).Only(viewer.System(ctx, viewer.ReasonAudit))
	if err != nil {
		return uuid.Nil, false
	}
	return ref.ID, true
}

// NewWriter returns a Writer on client; dia is the database dialect
// (entgo.io/ent/dialect), which decides how chains are locked.
func NewWriter(client *ent.Client, dia string, log *slog.Logger) *Writer {
	return &Writer{client: client, dialect: dia, log: log}
}

// Record writes e inside tx, so it commits or rolls back with the change.
func (w *Writer) Record(ctx context.Context, tx *ent.Tx, e Event) error {
	return w.appendEvent(ctx, tx, e)
}

// DetailSystemReason is the detail that names the system bypass
// (viewer.Reason) an event was written under, when a person caused it.
const DetailSystemReason = "system_reason"

// Log writes e on its own, for events that are not part of a data change
// (logins, denials). A failure is logged, not returned: an audit outage must
// not turn a denial into a 500.
func (w *Writer) Log(ctx context.Context, e Event) {
	tx, err := w.client.Tx(ctx)
	if err == nil {
		if err = w.appendEvent(ctx, tx, e); err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		w.log.ErrorContext(ctx, "audit write failed", "action", e.Action, "err", err)
	}
}

// appendEvent appends e to its chain inside tx: it locks the chain, reads the
// last link and writes the event with the next sequence number and hash.
func (w *Writer) appendEvent(ctx context.Context, tx *ent.Tx, e Event) error {
	err := w.appendLink(ctx, tx, e)
	if w.onAppend != nil {
		w.onAppend(err)
	}
	return err
}

func (w *Writer) appendLink(ctx context.Context, tx *ent.Tx, e Event) error {
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
	// An event written under the system bypass on a person's behalf says
	// which bypass (a fixed reason, see viewer.Reason).
	if v.IsSystem() && e.Actor != uuid.Nil {
		d := make(map[string]string, len(e.Details)+1)
		maps.Copy(d, e.Details)
		d[DetailSystemReason] = v.Reason().String()
		e.Details = d
	}
	rec := Canonical{
		ID:           uuid.Must(uuid.NewV7()).String(),
		OccurredAt:   time.Now().UTC().Truncate(time.Microsecond),
		Action:       e.Action,
		Outcome:      string(e.Outcome),
		ResourceType: e.ResourceType,
		RequestID:    requestid.FromContext(ctx),
		Details:      e.Details,
		Chain:        GlobalChain,
	}
	if len(rec.Details) == 0 {
		rec.Details = nil
	}
	if e.TenantID != uuid.Nil {
		rec.TenantID, rec.Chain = e.TenantID.String(), e.TenantID.String()
	}
	// The actor is named by a pseudonym; ActorRef links it to the user
	// until the user is erased.
	sys := viewer.System(ctx, viewer.ReasonAudit)
	if e.Actor != uuid.Nil {
		ref, err := w.pseudonym(sys, tx, e.Actor)
		if err != nil {
			return fmt.Errorf("audit %s: actor: %w", e.Action, err)
		}
		e.Actor = ref
		rec.Actor = ref.String()
	}
	if v != nil && v.SessionID != uuid.Nil {
		rec.SessionID = v.SessionID.String()
	}
	if e.ResourceID != uuid.Nil {
		rec.ResourceID = e.ResourceID.String()
	}
	// The audit writer records on behalf of whoever acted; the system viewer
	// lets it write tenant-less auth events too.
	if err := w.lockChain(sys, tx, rec.Chain); err != nil {
		return fmt.Errorf("audit %s: lock chain: %w", e.Action, err)
	}
	var session uuid.UUID
	if v != nil {
		session = v.SessionID
	}
	if ok, err := w.appendAfterHead(sys, tx, &rec, e, session); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	} else if ok {
		return nil
	}
	last, err := tx.AuditEvent.Query().Where(auditevent.Chain(rec.Chain)).
		Order(ent.Desc(auditevent.FieldSeq)).Select(auditevent.FieldSeq, auditevent.FieldHash).First(sys)
	switch {
	case ent.IsNotFound(err):
		rec.Seq = 1
	case err != nil:
		return fmt.Errorf("audit %s: last link: %w", e.Action, err)
	default:
		rec.Seq, rec.PrevHash = last.Seq+1, last.Hash
	}
	hash := rec.Hash()
	b := tx.AuditEvent.Create().
		SetID(uuid.MustParse(rec.ID)).
		SetOccurredAt(rec.OccurredAt).
		SetAction(rec.Action).
		SetOutcome(e.Outcome).
		SetResourceType(rec.ResourceType).
		SetRequestID(rec.RequestID).
		SetChain(rec.Chain).
		SetSeq(rec.Seq).
		SetHash(hash[:])
	if len(rec.PrevHash) > 0 {
		b.SetPrevHash(rec.PrevHash)
	}
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
	if rec.Details != nil {
		b.SetDetails(rec.Details)
	}
	if _, err := b.Save(sys); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	w.rememberHead(rec.Chain, rec.Seq, hash[:])
	return nil
}

// head is the last link this writer appended to a chain (perhaps not
// committed, perhaps rolled back, perhaps followed by another instance's).
type head struct {
	seq  int64
	hash []byte
}

func (w *Writer) rememberHead(chain string, seq int64, hash []byte) {
	if w.dialect == dialect.Postgres {
		w.heads.Store(chain, head{seq: seq, hash: hash})
	}
}

// guardedInsert appends the event after the link the writer remembers, in
// one statement that inserts only if that link is the chain's last: the
// predecessor exists with that hash, and no event holds the next sequence
// number yet. Run under the chain's lock, its snapshot (taken after the lock
// was granted) sees every committed link.
const guardedInsert = `INSERT INTO audit_events (id, occurred_at, tenant_id, action, outcome, actor, session_id,
	resource_type, resource_id, request_id, details, chain, seq, prev_hash, hash)
SELECT $1::uuid, $2::timestamptz, $3::uuid, $4::varchar, $5::varchar, $6::uuid, $7::uuid, $8::varchar, $9::uuid,
	$10::varchar, $11::jsonb, $12::varchar, $13::bigint, $14::bytea, $15::bytea
WHERE EXISTS (SELECT 1 FROM audit_events WHERE chain = $12::varchar AND seq = $13::bigint - 1 AND hash = $14::bytea)
ON CONFLICT (chain, seq) DO NOTHING`

// appendAfterHead is the fast path of appendEvent on PostgreSQL: with the
// chain's last link remembered from this writer's previous append, the
// event is written without reading the chain first, which takes a round
// trip out of the section that holds the chain's lock until commit. It
// reports false (nothing written) when the writer remembers no link, or the
// chain moved on (another instance appended, or the remembered append rolled
// back); appendEvent then reads the last link as before.
func (w *Writer) appendAfterHead(ctx context.Context, tx *ent.Tx, rec *Canonical, e Event, session uuid.UUID) (bool, error) {
	if w.dialect != dialect.Postgres {
		return false, nil
	}
	v, ok := w.heads.Load(rec.Chain)
	if !ok {
		return false, nil
	}
	h := v.(head)
	rec.Seq, rec.PrevHash = h.seq+1, h.hash
	hash := rec.Hash()
	var details any
	if rec.Details != nil {
		b, err := json.Marshal(rec.Details)
		if err != nil {
			return false, err
		}
		details = string(b)
	}
	nullable := func(id uuid.UUID) any {
		if id == uuid.Nil {
			return nil
		}
		return id
	}
	res, err := tx.ExecContext(ctx, guardedInsert, uuid.MustParse(rec.ID), rec.OccurredAt, nullable(e.TenantID),
		rec.Action, string(e.Outcome), nullable(e.Actor), nullable(session), rec.ResourceType, nullable(e.ResourceID),
		rec.RequestID, details, rec.Chain, rec.Seq, rec.PrevHash, hash[:])
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		w.heads.Delete(rec.Chain)
		rec.Seq, rec.PrevHash = 0, nil
		return false, err
	}
	w.rememberHead(rec.Chain, rec.Seq, hash[:])
	w.fast.Add(1)
	return true, nil
}

// lockChain serializes writers of one chain until tx ends. On PostgreSQL it
// takes a transaction-scoped advisory lock; SQLite transactions are already
// serialized (BEGIN IMMEDIATE).
func (w *Writer) lockChain(ctx context.Context, tx *ent.Tx, chain string) error {
	if w.dialect != dialect.Postgres {
		return nil
	}
	// internal/rls sends the system viewer's settings in the same round trip.
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 7413))", "audit:"+chain)
	return err
}

// Change runs fn in a transaction and records the event it returns in the
// same transaction: the change and its audit event commit together or not at
// all. fn's error rolls everything back.
func (w *Writer) Change(ctx context.Context, fn func(tx *ent.Tx) (Event, error)) error {
	tx, err := w.client.Tx(ctx)
	if err != nil {
		return fault.Classify(fmt.Errorf("begin: %w", err))
	}
	ev, err := fn(tx)
	if err == nil {
		err = w.Record(ctx, tx, ev)
	}
	if err != nil {
		_ = tx.Rollback()
		return fault.Classify(err)
	}
	return fault.Classify(tx.Commit())
}
