// Package audit writes the audit trail. A data change and its audit event
// commit in one transaction (Record); auth events outside a data change are
// written on their own (Log). Events carry IDs and codes only, never personal
// data.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/actorref"
	"atrium/ent/auditevent"
	"atrium/internal/fault"
	"atrium/internal/requestid"
	"atrium/internal/rls"
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
// last link and writes the event with the next sequence number and hash; on
// PostgreSQL, in the transaction's next round trip (appendDeferred).
func (w *Writer) appendEvent(ctx context.Context, tx *ent.Tx, e Event) error {
	err := w.appendLink(ctx, tx, e)
	// On PostgreSQL a successful append is counted when it commits
	// (appendDeferred).
	if w.onAppend != nil && (err != nil || w.dialect != dialect.Postgres) {
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
	var session uuid.UUID
	if v != nil {
		session = v.SessionID
	}
	if w.dialect == dialect.Postgres {
		// The audit writer records on behalf of whoever acted; the system
		// viewer lets it write tenant-less auth events too.
		if err := w.appendDeferred(sys, tx, &rec, e, session); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		return nil
	}
	// SQLite: transactions are serialized (BEGIN IMMEDIATE), so the last
	// link read here is still the last one at commit.
	seq, prev, err := lastLink(sys, tx, rec.Chain)
	if err != nil {
		return fmt.Errorf("audit %s: last link: %w", e.Action, err)
	}
	rec.Seq, rec.PrevHash = seq+1, prev
	hash := rec.Link()
	b := tx.AuditEvent.Create().
		SetID(uuid.MustParse(rec.ID)).
		SetOccurredAt(rec.OccurredAt).
		SetAction(rec.Action).
		SetOutcome(e.Outcome).
		SetResourceType(rec.ResourceType).
		SetRequestID(rec.RequestID).
		SetChain(rec.Chain).
		SetSeq(rec.Seq).
		SetHash(hash[:]).
		SetHashVersion(LinkVersion)
	if len(rec.PrevHash) > 0 {
		b.SetPrevHash(rec.PrevHash)
	}
	if e.TenantID != uuid.Nil {
		b.SetTenantID(e.TenantID)
	}
	if e.Actor != uuid.Nil {
		b.SetActor(e.Actor)
	}
	if session != uuid.Nil {
		b.SetSessionID(session)
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
	return nil
}

// lastLink is the sequence number and hash the next event of chain links
// to: its last event's, else its anchor's (a chain pruned to nothing goes on
// from where it was cut), else 0 and none.
func lastLink(ctx context.Context, tx *ent.Tx, chain string) (int64, []byte, error) {
	last, err := tx.AuditEvent.Query().Where(auditevent.Chain(chain)).
		Order(ent.Desc(auditevent.FieldSeq)).Select(auditevent.FieldSeq, auditevent.FieldHash).First(ctx)
	if err == nil {
		return last.Seq, last.Hash, nil
	}
	if !ent.IsNotFound(err) {
		return 0, nil, err
	}
	a, err := tx.AuditAnchor.Get(ctx, chain)
	switch {
	case ent.IsNotFound(err):
		return 0, nil, nil
	case err != nil:
		return 0, nil, err
	}
	if bytes.Equal(a.Hash, preChainMarker) {
		return a.Seq, nil, nil
	}
	return a.Seq, a.Hash, nil
}

// lockSQL serializes the appends to one chain until their transaction ends:
// a transaction-scoped advisory lock on the chain's name. It also leaves the
// planner one way to find the last link, the unique (chain, seq) index read
// backwards (one row): with statistics from when the chain was short, and
// the row-level security filter's guessed selectivity, it would otherwise
// read every event of the chain in a bitmap scan and sort them, which costs
// milliseconds per append on a chain of thousands, all under the lock.
// restoreSQL puts both settings back for whatever the transaction runs next.
const (
	lockSQL    = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7413)), set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
	restoreSQL = "SELECT set_config('enable_seqscan', 'on', true), set_config('enable_bitmapscan', 'on', true)"
)

// appendSQL appends an event to its chain after the chain's last link (as
// lastLink finds it), linking it in PostgreSQL: seq is the last link's plus
// one and hash is Link's, over the last link's hash and $13, the event's
// content hash (Canonical.ContentHash). Empty hashes (events from before the
// chain) and the pre-chain anchor marker link as none.
const appendSQL = `INSERT INTO audit_events (id, occurred_at, tenant_id, action, outcome, actor, session_id,
	resource_type, resource_id, request_id, details, chain, seq, prev_hash, hash, hash_version)
SELECT $1::uuid, $2::timestamptz, $3::uuid, $4::varchar, $5::varchar, $6::uuid, $7::uuid, $8::varchar, $9::uuid,
	$10::varchar, $11::jsonb, $12::varchar, last.seq + 1, last.hash,
	sha256(coalesce(last.hash, ''::bytea) || int8send(last.seq + 1) || $13::bytea), $14::smallint
FROM (SELECT seq, hash FROM (
		(SELECT seq, NULLIF(hash, ''::bytea) AS hash FROM audit_events WHERE chain = $12::varchar ORDER BY seq DESC LIMIT 1)
		UNION ALL
		(SELECT seq, NULLIF(hash, '\x00'::bytea) FROM audit_anchors WHERE id = $12::varchar)
		UNION ALL
		(SELECT 0, NULL::bytea)
	) AS links ORDER BY seq DESC LIMIT 1) AS last`

// appendDeferred defers the chain's lock and the event's append to the next
// round trip of tx (rls.Deferred): its COMMIT when the event is the
// transaction's last write, as in Change and Log. They then reach PostgreSQL
// in one batch with COMMIT, and the chain stays locked for the time the
// database takes to append and commit, never for a round trip to this
// process. The lock is taken before the append reads the last link, whose
// snapshot then holds every committed link; two appends to a chain cannot
// both commit (the lock, and the unique (chain, seq) index behind it).
func (w *Writer) appendDeferred(ctx context.Context, tx *ent.Tx, rec *Canonical, e Event, session uuid.UUID) error {
	content := rec.ContentHash()
	var details any
	if rec.Details != nil {
		b, err := json.Marshal(rec.Details)
		if err != nil {
			return err
		}
		details = string(b)
	}
	nullable := func(id uuid.UUID) any {
		if id == uuid.Nil {
			return nil
		}
		return id
	}
	later := rls.Deferred(ctx)
	if _, err := tx.ExecContext(later, lockSQL, "audit:"+rec.Chain); err != nil {
		return fmt.Errorf("lock chain: %w", err)
	}
	if _, err := tx.ExecContext(later, appendSQL, uuid.MustParse(rec.ID), rec.OccurredAt, nullable(e.TenantID),
		rec.Action, string(e.Outcome), nullable(e.Actor), nullable(session), rec.ResourceType, nullable(e.ResourceID),
		rec.RequestID, details, rec.Chain, content[:], LinkVersion); err != nil {
		return err
	}
	if _, err := tx.ExecContext(later, restoreSQL); err != nil {
		return err
	}
	if w.onAppend != nil {
		// The append succeeds or fails with the commit: count it then.
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				err := next.Commit(ctx, tx)
				switch {
				case err == nil:
					w.onAppend(nil)
				case errors.Is(err, rls.ErrDeferred):
					w.onAppend(err)
				}
				return err
			})
		})
	}
	return nil
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
