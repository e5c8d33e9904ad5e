package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"atrium/ent"
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

// Hash is SHA-256(prev_hash || canonical JSON).
func (c Canonical) Hash() [32]byte {
	b, _ := json.Marshal(c) // only strings, ints and times: cannot fail
	h := sha256.New()
	h.Write(c.PrevHash)
	h.Write(b)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

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
	Events    int
	Unchained int // events written before the chain existed (empty hash)
	Problems  []Problem
}

// Verify checks every chain (or only chain, when not empty): each event's
// hash must match its content and its predecessor's hash, and sequence
// numbers must run without gaps. An edited row shows as "edited", a deleted
// one as "missing", rows moved around as "reordered".
func Verify(ctx context.Context, client *ent.Client, chain string) ([]ChainReport, error) {
	sys := viewer.System(ctx, "audit verify")
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
		rep := ChainReport{Chain: ch}
		var prev []byte
		var expect int64 = 1
		const batch = 1000
		var after int64
		for {
			evs, err := client.AuditEvent.Query().Where(auditevent.Chain(ch), auditevent.SeqGT(after)).
				Order(ent.Asc(auditevent.FieldSeq)).Limit(batch).All(sys)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				rep.Events++
				after = e.Seq
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
				if h := canonicalOf(e).Hash(); !bytes.Equal(h[:], e.Hash) {
					rep.Problems = append(rep.Problems, Problem{ch, e.Seq, e.ID.String(), "edited"})
				}
				prev, expect = e.Hash, e.Seq+1
			}
			if len(evs) < batch {
				break
			}
		}
		out = append(out, rep)
	}
	return out, nil
}
