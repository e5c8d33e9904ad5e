package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"atrium/ent"
	"atrium/ent/auditanchor"
	"atrium/ent/auditevent"
	"atrium/internal/viewer"
)

// GlobalChain is the chain of events outside any tenant.
const GlobalChain = "global"

// Canonical is the encoding of an event that its hash covers. Field order is
// fixed and details' keys are sorted (encoding/json sorts map keys), so the
// same event always encodes to the same bytes.
type Canonical struct {
	ID           string            `json:"id"`
	OccurredAt   time.Time         `json:"occurred_at"`
	TenantID     string            `json:"tenant_id,omitempty"`
	Action       string            `json:"action"`
	Outcome      string            `json:"outcome"`
	Actor        string            `json:"actor,omitempty"`
	SessionID    string            `json:"session_id,omitempty"`
	ResourceType string            `json:"resource_type,omitempty"`
	ResourceID   string            `json:"resource_id,omitempty"`
	RequestID    string            `json:"request_id,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
	Chain        string            `json:"chain"`
	Seq          int64             `json:"seq"`
	PrevHash     []byte            `json:"-"`
}

// The formats of an event's hash (the hash_version column).
const (
	// HashV1 is SHA-256(prev_hash || canonical JSON): the format of events
	// appended before PostgreSQL linked them itself. Verify still checks it.
	HashV1 = 1
	// LinkVersion is the format Link computes and appends write:
	// SHA-256(prev_hash || seq as 8 bytes, big-endian || ContentHash), which
	// PostgreSQL can compute as it appends (appendSQL), given ContentHash.
	LinkVersion = 2
)

// Hash is the format-1 hash: SHA-256(prev_hash || canonical JSON).
func (c Canonical) Hash() [32]byte {
	b, _ := json.Marshal(c) // only strings, ints and times: cannot fail
	h := sha256.New()
	h.Write(c.PrevHash)
	h.Write(b)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// ContentHash is SHA-256 of the canonical JSON with seq 0: everything but
// the event's place in its chain, which Link adds.
func (c Canonical) ContentHash() [32]byte {
	c.Seq = 0
	b, _ := json.Marshal(c)
	return sha256.Sum256(b)
}

// Link is the format-2 hash (LinkVersion) of the event at c.Seq after
// c.PrevHash.
func (c Canonical) Link() [32]byte {
	content := c.ContentHash()
	h := sha256.New()
	h.Write(c.PrevHash)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(c.Seq)))
	h.Write(content[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// hashOf is the hash an event's content and links give in its format, and
// false for an unknown format.
func hashOf(e *ent.AuditEvent) ([32]byte, bool) {
	switch e.HashVersion {
	case HashV1:
		return canonicalOf(e).Hash(), true
	case LinkVersion:
		return canonicalOf(e).Link(), true
	}
	return [32]byte{}, false
}

// preChainMarker is the hash of an anchor after pre-chain history (events
// without hashes): the chain's next event links to no hash.
var preChainMarker = []byte{0}

func canonicalOf(e *ent.AuditEvent) Canonical {
	c := Canonical{
		ID: e.ID.String(), OccurredAt: e.OccurredAt.UTC().Truncate(time.Microsecond), Action: e.Action,
		Outcome: string(e.Outcome), ResourceType: e.ResourceType, RequestID: e.RequestID,
		Details: e.Details, Chain: e.Chain, Seq: e.Seq, PrevHash: e.PrevHash,
	}
	if len(c.Details) == 0 {
		c.Details = nil
	}
	if e.TenantID != nil {
		c.TenantID = e.TenantID.String()
	}
	if e.Actor != nil {
		c.Actor = e.Actor.String()
	}
	if e.SessionID != nil {
		c.SessionID = e.SessionID.String()
	}
	if e.ResourceID != nil {
		c.ResourceID = e.ResourceID.String()
	}
	return c
}

// Problem is one break in a chain.
type Problem struct {
	Chain string
	Seq   int64
	ID    string
	Kind  string // edited, missing, reordered
}

func (p Problem) String() string {
	return fmt.Sprintf("chain %s seq %d (event %s): %s", p.Chain, p.Seq, p.ID, p.Kind)
}

// ChainReport is the verification of one chain.
type ChainReport struct {
	Chain     string
	Events    int   // events checked
	Unchained int   // events written before the chain existed (empty hash)
	Head      int64 // the sequence number of the last event checked (0: none)
	Problems  []Problem
}

// verifyBatch is how many events a verification reads per query: the chain
// streams through in pages, so memory stays constant whatever its length.
const verifyBatch = 1000

// Verify checks every chain (or only chain, when not empty): each event's
// hash must match its content and its predecessor's hash, and sequence
// numbers must run without gaps. An edited row shows as "edited", a deleted
// one as "missing", rows moved around as "reordered".
func Verify(ctx context.Context, client *ent.Client, chain string) ([]ChainReport, error) {
	sys := viewer.System(ctx, viewer.ReasonAudit)
	var chains []string
	if chain != "" {
		chains = []string{chain}
	} else {
		var err error
		if chains, err = client.AuditEvent.Query().Unique(true).Select(auditevent.FieldChain).Strings(sys); err != nil {
			return nil, err
		}
	}
	var out []ChainReport
	for _, ch := range chains {
		rep, err := verifyChain(sys, client, ch, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

// verifyChain checks one chain, reading its events as ctx's viewer: the
// system for the CLI, the tenant's own viewer for the API, whose queries
// the privacy policy confines to the tenant's rows whatever chain is named.
// It stops once it has found maxProblems problems (0: never), and between
// pages when ctx ends.
func verifyChain(ctx context.Context, client *ent.Client, ch string, maxProblems int) (ChainReport, error) {
	rep := ChainReport{Chain: ch}
	var prev []byte
	var expect int64 = 1
	// The anchor (a pruned chain's starting point: a sequence number and a
	// hash, no content) is readable by the system only.
	if a, err := client.AuditAnchor.Get(viewer.System(ctx, viewer.ReasonAudit), ch); err == nil {
		expect, prev = a.Seq+1, a.Hash
		if bytes.Equal(prev, preChainMarker) {
			prev = nil
		}
	} else if !ent.IsNotFound(err) {
		return rep, err
	}
	done := func() bool { return maxProblems > 0 && len(rep.Problems) >= maxProblems }
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		evs, err := client.AuditEvent.Query().Where(auditevent.Chain(ch), auditevent.SeqGT(after)).
			Order(ent.Asc(auditevent.FieldSeq)).Limit(verifyBatch).All(ctx)
		if err != nil {
			return rep, err
		}
		for _, e := range evs {
			rep.Events++
			after, rep.Head = e.Seq, e.Seq
			if len(e.Hash) == 0 { // history from before the chain
				rep.Unchained++
				expect = e.Seq + 1
				continue
			}
			switch {
			case e.Seq != expect:
				rep.Problems = append(rep.Problems, Problem{ch, expect, "", "missing"})
			case !bytes.Equal(e.PrevHash, prev):
				rep.Problems = append(rep.Problems, Problem{ch, e.Seq, e.ID.String(), "reordered"})
			}
			if h, ok := hashOf(e); !ok || !bytes.Equal(h[:], e.Hash) {
				rep.Problems = append(rep.Problems, Problem{ch, e.Seq, e.ID.String(), "edited"})
			}
			if done() {
				rep.Problems = rep.Problems[:maxProblems]
				return rep, nil
			}
			prev, expect = e.Hash, e.Seq+1
		}
		if len(evs) < verifyBatch {
			return rep, nil
		}
	}
}

// PruneReport says what Prune removed from one chain.
type PruneReport struct {
	Chain   string
	Removed int
	Anchor  int64 // the chain now starts after this sequence number
}

// Prune deletes events that occurred before cutoff, chain by chain, and
// records in an anchor the sequence number and hash of the last removed
// event, so that Verify checks the remaining events from there. A chain is
// pruned from its start only: events are removed in sequence order up to the
// first event at or after cutoff.
func Prune(ctx context.Context, client *ent.Client, cutoff time.Time) ([]PruneReport, error) {
	sys := viewer.System(ctx, viewer.ReasonAudit)
	chains, err := client.AuditEvent.Query().Unique(true).Select(auditevent.FieldChain).Strings(sys)
	if err != nil {
		return nil, err
	}
	var out []PruneReport
	for _, ch := range chains {
		// The last event to remove: the newest one before the first event
		// that is too young (so a late-written old timestamp never opens a gap).
		firstKept, err := client.AuditEvent.Query().
			Where(auditevent.Chain(ch), auditevent.OccurredAtGTE(cutoff)).
			Order(ent.Asc(auditevent.FieldSeq)).First(sys)
		q := client.AuditEvent.Query().Where(auditevent.Chain(ch)).Order(ent.Desc(auditevent.FieldSeq))
		switch {
		case err == nil:
			q.Where(auditevent.SeqLT(firstKept.Seq))
		case !ent.IsNotFound(err):
			return nil, err
		}
		last, err := q.First(sys)
		if ent.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		tx, err := client.Tx(sys)
		if err != nil {
			return nil, err
		}
		n, err := tx.AuditEvent.Delete().Where(auditevent.Chain(ch), auditevent.SeqLTE(last.Seq)).Exec(sys)
		if err == nil {
			hash := last.Hash
			if len(hash) == 0 { // pre-chain history: anchor on a marker
				hash = preChainMarker
			}
			err = tx.AuditAnchor.Create().SetID(ch).SetSeq(last.Seq).SetHash(hash).
				OnConflictColumns(auditanchor.FieldID).UpdateNewValues().Exec(sys)
		}
		if err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		out = append(out, PruneReport{Chain: ch, Removed: n, Anchor: last.Seq})
	}
	return out, nil
}
