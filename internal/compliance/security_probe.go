package compliance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"entgo.io/ent/privacy"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/conversation"
	"atrium/internal/audit"
	"atrium/internal/viewer"
)

const probeTitle = "atrium security audit probe"

// sweepLimit bounds the rows one sweep reads: one leaked row is enough.
const sweepLimit = 10

// TenantScopedTypes lists the ent entity types whose rows belong to a tenant
// (they have a TenantID field), sorted: the tables the isolation probe
// sweeps. It is derived from the generated client by reflection, so a new
// tenant-owned table is swept without anyone remembering to add it.
func TenantScopedTypes() []string {
	var names []string
	ct := reflect.TypeFor[ent.Client]()
	for i := range ct.NumField() {
		if name, ok := tenantScopedField(ct.Field(i)); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// tenantScopedField reports whether f is an entity client (XClient with
// Query().All(ctx) returning []*X) whose entity has a TenantID field, and
// the entity's name.
func tenantScopedField(f reflect.StructField) (string, bool) {
	if !f.IsExported() || f.Type.Kind() != reflect.Pointer {
		return "", false
	}
	q, ok := f.Type.MethodByName("Query")
	if !ok || q.Type.NumIn() != 1 || q.Type.NumOut() != 1 {
		return "", false
	}
	all, ok := q.Type.Out(0).MethodByName("All")
	if !ok || all.Type.NumOut() != 2 || all.Type.Out(0).Kind() != reflect.Slice {
		return "", false
	}
	elem := all.Type.Out(0).Elem()
	if elem.Kind() != reflect.Pointer || elem.Elem().Kind() != reflect.Struct {
		return "", false
	}
	tf, ok := elem.Elem().FieldByName("TenantID")
	if !ok || (tf.Type != reflect.TypeFor[uuid.UUID]() && tf.Type != reflect.TypeFor[*uuid.UUID]()) {
		return "", false
	}
	return elem.Elem().Name(), true
}

// sweepTenants returns, for every tenant-scoped type, how many of the rows
// visible under ctx belong to a tenant other than own (at most sweepLimit
// are read per type). Rows without a tenant (shared system roles, global
// audit events) are shared by design and not counted.
func sweepTenants(ctx context.Context, client *ent.Client, own uuid.UUID) (map[string]int, error) {
	out := map[string]int{}
	var errs []error
	cv := reflect.ValueOf(client).Elem()
	for i := range cv.NumField() {
		name, ok := tenantScopedField(cv.Type().Field(i))
		if !ok || cv.Field(i).IsNil() {
			continue
		}
		q := cv.Field(i).MethodByName("Query").Call(nil)[0]
		q = q.MethodByName("Limit").Call([]reflect.Value{reflect.ValueOf(sweepLimit)})[0]
		res := q.MethodByName("All").Call([]reflect.Value{reflect.ValueOf(ctx)})
		if err, _ := res[1].Interface().(error); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		rows := res[0]
		for j := range rows.Len() {
			var tenant uuid.UUID
			switch v := rows.Index(j).Elem().FieldByName("TenantID").Interface().(type) {
			case uuid.UUID:
				tenant = v
			case *uuid.UUID:
				if v != nil {
					tenant = *v
				}
			}
			if tenant != uuid.Nil && tenant != own {
				out[name]++
			}
		}
	}
	return out, errors.Join(errs...)
}

// probeTenant creates a throwaway tenant inside the probe transaction.
func probeTenant(ctx context.Context, client *ent.Client, label string) (*ent.Tenant, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	t, err := client.Tenant.Create().
		SetName("security probe " + label).
		SetSlug("security-probe-" + label + "-" + hex.EncodeToString(b)).
		Save(viewer.System(ctx, viewer.ReasonCompliance))
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
		got, err := client.Conversation.Get(viewer.System(ctx, viewer.ReasonCompliance), conv.ID)
		switch {
		case err != nil:
			ps.add("tenant A's conversation is gone after tenant B's attempts: %v", err)
		case got.Title != probeTitle:
			ps.add("tenant A's conversation was changed by tenant B (title %q)", got.Title)
		}

		// Tenant B must see no row of another tenant in any tenant-owned
		// table: not A's conversation, and nothing of the live tenants.
		// It runs last: on PostgreSQL a failed query ends the transaction.
		leaks, err := sweepTenants(asB, client, tb.ID)
		if err != nil {
			ps.add("tenant B listing tenant-owned rows: %v", err)
		}
		for _, name := range TenantScopedTypes() {
			if n := leaks[name]; n > 0 {
				ps.add("tenant B sees %d %s row(s) of other tenants", n, name)
			}
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
			All(viewer.System(ctx, viewer.ReasonCompliance))
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
