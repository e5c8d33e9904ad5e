// Package resource is the one shape of Atrium's shareable resources
// (conversations, documents, agents, knowledge graphs): the owner lookup the
// resource rule needs, access checks, reads and lists limited to what the
// viewer may see, and create, update and delete inside audit.Change with the
// resource's shares removed along with it. A resource's service keeps only
// its own rules: validation, the fields it writes, the references it checks
// and the rows that belong to it.
package resource

import (
	"context"
	"strings"

	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"atrium/ent"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
)

// Spec describes a shareable resource kind.
type Spec[T any] struct {
	// Type is the kind in shares and audit events (share.resource_type).
	Type authz.ResourceType
	// Manage is the tenant-wide permission that sees and changes every row.
	Manage authz.Permission
	// Actions prefixes the kind's audit actions: <Actions>.created,
	// <Actions>.updated and <Actions>.deleted.
	Actions string
	// ID returns a row's id.
	ID func(T) uuid.UUID
	// Cascade, if set, deletes the rows that belong to the resource, inside
	// the transaction that deletes it (before its shares and itself).
	Cascade func(ctx context.Context, tx *ent.Tx, id uuid.UUID) error
}

// Deps are the services every kind uses.
type Deps struct {
	Client *ent.Client
	Audit  *audit.Writer
	Access *authz.Access
}

// Kind is the shared mechanism of one shareable resource kind, over its ent
// entity type T (e.g. *ent.Agent).
type Kind[T any] struct {
	spec Spec[T]
	noun string // in error messages: "knowledge graph"
	deps Deps
	// Typed ent access, bound by Register; del runs on a transaction's
	// client.
	get  func(ctx context.Context, id uuid.UUID) (T, error)
	list func(ctx context.Context, n int, where []func(*sql.Selector)) ([]T, error)
	del  func(ctx context.Context, c *ent.Client, id uuid.UUID) error
}

// The parts of ent's generated code a Kind uses: a type's client (C), its
// query (Q) with predicates (P), order options (O) and selection (S), and
// its delete builder (D).
type (
	table[T, Q, D any] interface {
		Get(ctx context.Context, id uuid.UUID) (T, error)
		Query() Q
		DeleteOneID(id uuid.UUID) D
	}
	query[T, Q, S any, P, O ~func(*sql.Selector)] interface {
		Where(ps ...P) Q
		Order(o ...O) Q
		Limit(n int) Q
		All(ctx context.Context) ([]T, error)
		Select(fields ...string) S
	}
	scanner interface {
		Scan(ctx context.Context, v any) error
	}
	execer interface {
		Exec(ctx context.Context) error
	}
)

// Register binds a kind to its ent table (e.g. func(c *ent.Client)
// *ent.AgentClient { return c.Agent }) and registers it with the resource
// rule (d.Access). The table must have id and created_by (TenantMixin).
func Register[T any, C table[T, Q, D], Q query[T, Q, S, P, O], S scanner, D execer, P, O ~func(*sql.Selector)](
	d Deps, spec Spec[T], tableOf func(*ent.Client) C,
) *Kind[T] {
	k := &Kind[T]{spec: spec, noun: strings.ReplaceAll(string(spec.Type), "_", " "), deps: d}
	k.get = func(ctx context.Context, id uuid.UUID) (T, error) { return tableOf(d.Client).Get(ctx, id) }
	k.del = func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
		return tableOf(c).DeleteOneID(id).Exec(ctx)
	}
	k.list = func(ctx context.Context, n int, where []func(*sql.Selector)) ([]T, error) {
		ps := make([]P, len(where))
		for i, w := range where {
			ps[i] = P(w)
		}
		return tableOf(d.Client).Query().Where(ps...).Order(O(ent.Desc("id"))).Limit(n).All(ctx)
	}
	d.Access.Register(spec.Type, spec.Manage, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
		var rows []struct {
			ID        uuid.UUID `sql:"id"`
			CreatedBy uuid.UUID `sql:"created_by"`
		}
		// The caller's context: tenant filtering applies, so another
		// tenant's ids do not exist.
		if err := tableOf(d.Client).Query().Where(P(sql.FieldIn("id", ids...))).Select("id", "created_by").Scan(ctx, &rows); err != nil {
			return nil, fault.FromEnt(err, "resource")
		}
		out := make(map[uuid.UUID]uuid.UUID, len(rows))
		for _, r := range rows {
			out[r.ID] = r.CreatedBy
		}
		return out, nil
	})
	return k
}

// Type is the kind's resource type.
func (k *Kind[T]) Type() authz.ResourceType { return k.spec.Type }

// Require returns nil when the viewer has at least need on the resource;
// NotFound when they cannot see it, Forbidden when they see it but may not
// do this (authz.Access.Require).
func (k *Kind[T]) Require(ctx context.Context, id uuid.UUID, need authz.Level) error {
	return k.deps.Access.Require(ctx, k.spec.Type, id, need)
}

// RequireRef is Require for a resource a new row's field is about to
// reference (authz.Access.RequireRef): the context it returns spares that
// row's policy a second lookup of the resource.
func (k *Kind[T]) RequireRef(ctx context.Context, id uuid.UUID, need authz.Level, field string) (context.Context, error) {
	return k.deps.Access.RequireRef(ctx, k.spec.Type, id, need, field)
}

// Get returns a resource the viewer may read.
func (k *Kind[T]) Get(ctx context.Context, id uuid.UUID) (T, error) {
	var zero T
	if err := k.Require(ctx, id, authz.Viewer); err != nil {
		return zero, err
	}
	v, err := k.get(ctx, id)
	if err != nil {
		return zero, fault.FromEnt(err, k.noun)
	}
	return v, nil
}

// List returns a page of the resources the viewer may read, newest first.
func (k *Kind[T]) List(ctx context.Context, cursor string, limit int) (page.Page[T], error) {
	return k.ListWhere(ctx, cursor, limit)
}

// ListWhere is List of the rows that also match where (a generated
// predicate of the kind's table, e.g. conversation.StatusEQ(s)).
func (k *Kind[T]) ListWhere(ctx context.Context, cursor string, limit int, where ...func(*sql.Selector)) (page.Page[T], error) {
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]T, error) {
		var visible func(*sql.Selector)
		if len(where) == 0 {
			// Nothing filters the page after visibility: each source
			// of visibility can stop at n rows.
			visible = k.deps.Access.VisibleTop(ctx, k.spec.Type, after, n)
		} else {
			visible = k.deps.Access.Visible(ctx, k.spec.Type)
		}
		ps := append([]func(*sql.Selector){visible}, where...)
		if after != uuid.Nil {
			ps = append(ps, sql.FieldLT("id", after))
		}
		return k.list(ctx, n, ps)
	}, k.spec.ID)
	return p, fault.FromEnt(err, k.noun)
}

// Create runs save (which creates the row; the caller becomes its owner) and
// records the kind's created event, in one transaction.
func (k *Kind[T]) Create(ctx context.Context, save func(tx *ent.Tx) (T, error)) (T, error) {
	var v, zero T
	err := k.deps.Audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		if v, err = save(tx); err != nil {
			return audit.Event{}, err
		}
		return k.event("created", k.spec.ID(v)), nil
	})
	if err != nil {
		return zero, fault.FromEnt(err, k.noun)
	}
	return v, nil
}

// Update requires editor access, runs check (if not nil: references the
// change makes to other resources), then save (which updates the row) and
// records the kind's updated event, in one transaction.
func (k *Kind[T]) Update(ctx context.Context, id uuid.UUID, check func(ctx context.Context) error, save func(tx *ent.Tx) (T, error)) (T, error) {
	var v, zero T
	if err := k.Require(ctx, id, authz.Editor); err != nil {
		return zero, err
	}
	if check != nil {
		if err := check(ctx); err != nil {
			return zero, err
		}
	}
	err := k.deps.Audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		var err error
		if v, err = save(tx); err != nil {
			return audit.Event{}, err
		}
		return k.event("updated", id), nil
	})
	if err != nil {
		return zero, fault.FromEnt(err, k.noun)
	}
	return v, nil
}

// Delete requires owner access and deletes, in one transaction with the
// kind's deleted event, what belongs to the resource (Spec.Cascade), its
// shares and the resource.
func (k *Kind[T]) Delete(ctx context.Context, id uuid.UUID) error {
	if err := k.Require(ctx, id, authz.Owner); err != nil {
		return err
	}
	err := k.deps.Audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		if k.spec.Cascade != nil {
			if err := k.spec.Cascade(ctx, tx, id); err != nil {
				return audit.Event{}, err
			}
		}
		if err := k.deps.Access.DeleteShares(ctx, tx, k.spec.Type, id); err != nil {
			return audit.Event{}, err
		}
		if err := k.del(ctx, tx.Client(), id); err != nil {
			return audit.Event{}, err
		}
		return k.event("deleted", id), nil
	})
	return fault.FromEnt(err, k.noun)
}

// event is the audit event of what happened to the resource id.
func (k *Kind[T]) event(what string, id uuid.UUID) audit.Event {
	return audit.Event{Action: k.spec.Actions + "." + what, ResourceType: string(k.spec.Type), ResourceID: id}
}

// TrimSpace is *p without surrounding white space, or nil (for the optional
// name and title fields of updates).
func TrimSpace(p *string) *string {
	if p == nil {
		return nil
	}
	v := strings.TrimSpace(*p)
	return &v
}
