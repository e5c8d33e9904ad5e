package authz

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"

	"atrium/ent"
	"atrium/ent/memberrole"
	"atrium/ent/membership"
	"atrium/ent/role"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

const invalidateTopic = "authz.invalidate"

type key struct{ tenant, user uuid.UUID }

// Resolver answers the effective permissions of a user in a tenant: the union
// of the grants of the roles assigned to an active member. Results are cached
// in process and invalidated across instances through the bus.
type Resolver struct {
	client *ent.Client
	bus    cache.Bus
	log    *slog.Logger
	cache  *otter.Cache[key, *Set]
	// gen increases on every invalidation; a load that raced with one is not
	// stored, so a revoked grant is never cached after its invalidation.
	gen atomic.Uint64
}

// NewResolver returns a Resolver and subscribes it to invalidations on bus.
func NewResolver(client *ent.Client, bus cache.Bus, log *slog.Logger) *Resolver {
	r := &Resolver{
		client: client,
		bus:    bus,
		log:    log,
		cache: otter.Must(&otter.Options[key, *Set]{
			MaximumSize:      100_000,
			ExpiryCalculator: otter.ExpiryWriting[key, *Set](5 * time.Minute),
		}),
	}
	bus.Subscribe(invalidateTopic, r.onInvalidate)
	return r
}

// Permissions returns the effective permissions of user in tenant. A user who
// is not an active member gets a fault.Unauthenticated error.
func (r *Resolver) Permissions(ctx context.Context, tenantID, userID uuid.UUID) (*Set, error) {
	k := key{tenantID, userID}
	if s, ok := r.cache.GetIfPresent(k); ok {
		if s == nil {
			return nil, errNotMember
		}
		return s, nil
	}
	gen := r.gen.Load()
	s, err := r.load(ctx, tenantID, userID)
	if err != nil && err != errNotMember {
		return nil, err
	}
	if r.gen.Load() == gen {
		r.cache.Set(k, s)
	}
	if s == nil {
		return nil, errNotMember
	}
	return s, nil
}

var errNotMember = fault.New(fault.Unauthenticated, "not an active member of this tenant")

func (r *Resolver) load(ctx context.Context, tenantID, userID uuid.UUID) (*Set, error) {
	ctx = viewer.SystemForTenant(ctx, tenantID, "resolve permissions")
	ok, err := r.client.Membership.Query().
		Where(membership.TenantID(tenantID), membership.UserID(userID), membership.StatusEQ(membership.StatusActive)).
		Exist(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: membership: %w", err)
	}
	if !ok {
		return nil, errNotMember
	}
	roles, err := r.client.Role.Query().
		Where(role.HasMemberRolesWith(memberrole.TenantID(tenantID), memberrole.UserID(userID))).
		Select(role.FieldPermissions).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: roles: %w", err)
	}
	grants := slices.Clone(Implicit)
	for _, ro := range roles {
		grants = append(grants, ro.Permissions...)
	}
	return NewSet(grants...), nil
}

// Invalidate drops the cached permissions of user in tenant on every instance.
// uuid.Nil as user drops the whole tenant.
func (r *Resolver) Invalidate(ctx context.Context, tenantID, userID uuid.UUID) {
	msg := tenantID.String() + "/" + userID.String()
	r.onInvalidate(msg) // this instance: effective on its next request
	if err := r.bus.Publish(ctx, invalidateTopic, msg); err != nil {
		r.log.WarnContext(ctx, "authz invalidation not published; clearing local cache", "err", err)
	}
}

func (r *Resolver) onInvalidate(msg string) {
	r.gen.Add(1)
	var t, u uuid.UUID
	if len(msg) == 73 {
		t, _ = uuid.Parse(msg[:36])
		u, _ = uuid.Parse(msg[37:])
	}
	if t == uuid.Nil {
		r.cache.InvalidateAll()
		return
	}
	if u != uuid.Nil {
		r.cache.Invalidate(key{t, u})
		return
	}
	for k := range r.cache.Keys() {
		if k.tenant == t {
			r.cache.Invalidate(k)
		}
	}
}

// InvalidateOnCommit invalidates the permissions of user in tenant once tx
// commits; invalidating earlier would let a concurrent request cache the old
// grants again.
func (r *Resolver) InvalidateOnCommit(ctx context.Context, tx *ent.Tx, tenantID, userID uuid.UUID) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(cctx context.Context, tx *ent.Tx) error {
			err := next.Commit(cctx, tx)
			if err == nil {
				r.Invalidate(ctx, tenantID, userID)
			}
			return err
		})
	})
}
