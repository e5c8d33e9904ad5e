package compliance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"entgo.io/ent/privacy"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/conversation"
	"atrium/internal/audit"
	"atrium/internal/viewer"
)

const probeTitle = "atrium security audit probe"

// probeTenant creates a throwaway tenant inside the probe transaction.
func probeTenant(ctx context.Context, client *ent.Client, label string) (*ent.Tenant, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	t, err := client.Tenant.Create().
		SetName("security probe " + label).
		SetSlug("security-probe-" + label + "-" + hex.EncodeToString(b)).
		Save(viewer.System(ctx, "security audit: probe tenant"))
	if err != nil {
		return nil, fmt.Errorf("create probe tenant %s: %w", label, err)
	}
	return t, nil
}

// checkTenantIsolation creates two tenants and a conversation in tenant A,
// then, acting as a member of tenant B, tries to read, count, update, delete
// and create into tenant A through the ent client — the same path every
// service takes. Each attempt must find nothing or be denied. Everything
// happens in a transaction that is rolled back.
func checkTenantIsolation(ctx context.Context, env *Env) error {
	return env.withProbe(ctx, func(tx *ent.Tx) error {
		client := tx.Client()
		ta, err := probeTenant(ctx, client, "a")
		if err != nil {
			return err
		}
		tb, err := probeTenant(ctx, client, "b")
		if err != nil {
			return err
		}
		asA := env.AsMember(ctx, ta.ID, uuid.New())
		asB := env.AsMember(ctx, tb.ID, uuid.New())
		conv, err := client.Conversation.Create().SetTitle(probeTitle).Save(asA)
		if err != nil {
			return fmt.Errorf("create a conversation as a member of tenant A: %w", err)
		}
		var ps problemList
		if conv.TenantID != ta.ID {
			ps.add("a conversation created by a member of tenant A was stamped with tenant %s", conv.TenantID)
		}

		switch _, err := client.Conversation.Get(asB, conv.ID); {
		case err == nil:
			ps.add("tenant B read tenant A's conversation by id (want not found)")
		case !ent.IsNotFound(err):
			ps.add("tenant B reading tenant A's conversation: want not found, got %v", err)
		}
		if n, err := client.Conversation.Query().Count(asB); err != nil {
			ps.add("tenant B counting conversations: %v", err)
		} else if n != 0 {
			ps.add("tenant B, which has no conversations, counts %d", n)
		}
		if n, err := client.Conversation.Update().Where(conversation.ID(conv.ID)).SetTitle("changed by tenant B").Save(asB); err != nil {
			ps.add("tenant B bulk-updating tenant A's conversation: want 0 rows, got %v", err)
		} else if n != 0 {
			ps.add("tenant B updated %d of tenant A's conversations", n)
		}
		switch err := client.Conversation.UpdateOneID(conv.ID).SetTitle("changed by tenant B").Exec(asB); {
		case err == nil:
			ps.add("tenant B updated tenant A's conversation by id (want not found)")
		case !ent.IsNotFound(err):
			ps.add("tenant B updating tenant A's conversation by id: want not found, got %v", err)
		}
		if n, err := client.Conversation.Delete().Where(conversation.ID(conv.ID)).Exec(asB); err != nil {
			ps.add("tenant B deleting tenant A's conversation: want 0 rows, got %v", err)
		} else if n != 0 {
			ps.add("tenant B deleted %d of tenant A's conversations", n)
		}
		switch _, err := client.Conversation.Create().SetTenantID(ta.ID).SetTitle(probeTitle).Save(asB); {
		case err == nil:
			ps.add("tenant B created a conversation in tenant A (want denied)")
		case !errors.Is(err, privacy.Deny):
			ps.add("tenant B creating a conversation in tenant A: want a privacy denial, got %v", err)
		}

		// Whatever the answers said, tenant A's row must be untouched.
		got, err := client.Conversation.Get(viewer.System(ctx, "security audit: probe result"), conv.ID)
		switch {
		case err != nil:
			ps.add("tenant A's conversation is gone after tenant B's attempts: %v", err)
		case got.Title != probeTitle:
			ps.add("tenant A's conversation was changed by tenant B (title %q)", got.Title)
		}
		return ps.err()
	})
}

// checkAuditLogging records a change through the audit writer in a
// rolled-back transaction and checks the event is stored with its hash and
// verifies; then it verifies every existing chain.
func checkAuditLogging(ctx context.Context, env *Env) error {
	var ps problemList
	err := env.withProbe(ctx, func(tx *ent.Tx) error {
		client := tx.Client()
		ta, err := probeTenant(ctx, client, "audit")
		if err != nil {
			return err
		}
		asA := env.AsMember(ctx, ta.ID, uuid.New())
		conv, err := client.Conversation.Create().SetTitle(probeTitle).Save(asA)
		if err != nil {
			return fmt.Errorf("create a conversation as a member of the probe tenant: %w", err)
		}
		ev := audit.Event{Action: "security.probe", ResourceType: "conversation", ResourceID: conv.ID}
		if err := env.Recorder.Record(asA, tx, ev); err != nil {
			return fmt.Errorf("record the audit event: %w", err)
		}
		rows, err := client.AuditEvent.Query().Where(auditevent.ResourceID(conv.ID)).
			All(viewer.System(ctx, "security audit: read probe event"))
		if err != nil {
			return fmt.Errorf("read the audit event: %w", err)
		}
		if len(rows) != 1 {
			ps.add("a recorded change left %d audit events in its transaction; want 1", len(rows))
			return nil
		}
		if e := rows[0]; len(e.Hash) == 0 || e.Chain != ta.ID.String() || e.TenantID == nil || *e.TenantID != ta.ID {
			ps.add("the probe's audit event lacks its hash or its tenant chain (chain %q, %d hash bytes)", e.Chain, len(e.Hash))
		}
		reps, err := audit.Verify(ctx, client, ta.ID.String())
		if err != nil {
			return fmt.Errorf("verify the probe's chain: %w", err)
		}
		for _, r := range reps {
			for _, p := range r.Problems {
				ps.add("the probe's own audit chain does not verify: %s", p)
			}
		}
		return nil
	})
	if err != nil {
		return errors.Join(append(ps, err)...)
	}
	reps, err := audit.Verify(ctx, env.Client, "")
	if err != nil {
		return errors.Join(append(ps, fmt.Errorf("verify audit chains: %w", err))...)
	}
	const shown = 10
	n := 0
	for _, r := range reps {
		for _, p := range r.Problems {
			if n++; n <= shown {
				ps.add("audit trail tampered: %s", p)
			}
		}
	}
	if n > shown {
		ps.add("… and %d more broken links: run atrium audit verify", n-shown)
	}
	return ps.err()
}
