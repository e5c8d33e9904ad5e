package authz

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"

	"atrium/ent"
	"atrium/ent/memberrole"
	"atrium/ent/membership"
	"atrium/ent/role"
	"atrium/ent/teammember"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/metrics"
	"atrium/internal/viewer"
)

const invalidateTopic = "authz.invalidate"

// Cache lifetimes: DefaultTTL while the bus is healthy (invalidations
// normally remove entries much earlier); see WithDegradedTTL for the other.
const (
	DefaultTTL         = 5 * time.Minute
	DefaultDegradedTTL = 2 * time.Second
)

type key struct{ tenant, user uuid.UUID }

// entry is an L1 value: the member's set, or nil for "not an active member"
// (negative answers are cached too, and invalidated the same way).
type entry struct {
	set   *Set
	short bool // loaded while the bus was unhealthy: keep it DegradedTTL only
	// read is when the load began: lifetimes count from the read, not from
	// the store, so a slow load cannot stretch the age of an answer.
	read time.Time
}

// Resolver answers the effective permissions of a user in a tenant: the union
// of the grants of the roles assigned to an active member, and the member's
// teams. Answers are cached in process (L1) and, with WithRedis, in Redis
// (L2, shared by instances); every change is invalidated on all instances
// through the bus. See docs/authorization-caching.md.
type Resolver struct {
	client      *ent.Client
	bus         cache.Bus
	log         *slog.Logger
	m           *metrics.Cache
	l1          *otter.Cache[key, *entry]
	l2          *l2 // nil without Redis
	ttl         time.Duration
	degradedTTL time.Duration
	noCache     bool
	now         func() time.Time
	// gen increases on every invalidation and reset; a load that raced with
	// one is not stored, so a revoked grant is never cached after its
	// invalidation.
	gen atomic.Uint64

	// res caches resource facts (owner, shares) for Access; resGen is its
	// generation counter, like gen.
	res       *otter.Cache[rkey, *facts]
	resGen    atomic.Uint64
	rm        *metrics.Cache
	listeners listeners
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithRedis adds the shared Redis level (L2). Pass the client the bus uses.
func WithRedis(rdb redis.UniversalClient) Option {
	return func(r *Resolver) {
		if rdb != nil {
			r.l2 = newL2(rdb, r.ttl)
		}
	}
}

// WithMetrics reports hits, misses, invalidations and check latency to m.
func WithMetrics(m *metrics.Metrics) Option {
	return func(r *Resolver) { r.m, r.rm = m.Cache("authz"), m.Cache("authz_resource") }
}

// WithDegradedTTL bounds the age of an answer while the bus is unhealthy
// (default DefaultDegradedTTL): no grant older than this is served then.
func WithDegradedTTL(d time.Duration) Option { return func(r *Resolver) { r.degradedTTL = d } }

// WithClock sets the clock that cache lifetimes count on (default
// time.Now), so tests move time on instead of waiting for it.
func WithClock(now func() time.Time) Option { return func(r *Resolver) { r.now = now } }

// WithoutCache makes every call read the database: the reference the
// consistency tests compare the caches with.
func WithoutCache() Option { return func(r *Resolver) { r.noCache = true } }

// NewResolver returns a Resolver and subscribes it to invalidations and
// resets on bus.
func NewResolver(client *ent.Client, bus cache.Bus, log *slog.Logger, opts ...Option) *Resolver {
	r := &Resolver{client: client, bus: bus, log: log, ttl: DefaultTTL, degradedTTL: DefaultDegradedTTL}
	for _, o := range opts {
		o(r)
	}
	var l1Clock otter.Clock // otter's own unless WithClock
	if r.now != nil {
		l1Clock = cache.Clock(r.now)
	} else {
		r.now = time.Now
	}
	if r.l2 != nil {
		r.l2.ttl = r.ttl // options may come in any order
	}
	if r.m == nil {
		r.m = (*metrics.Metrics)(nil).Cache("authz")
		r.rm = (*metrics.Metrics)(nil).Cache("authz_resource")
	}
	r.l1 = otter.Must(&otter.Options[key, *entry]{
		MaximumSize: 100_000,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[key, *entry]) time.Duration {
			ttl := r.ttl
			if e.Value.short {
				ttl = r.degradedTTL
			}
			return max(ttl-r.now().Sub(e.Value.read), time.Nanosecond)
		}),
		Clock: l1Clock,
	})
	r.res = newResourceCache(r, l1Clock)
	bus.Subscribe(invalidateTopic, r.onInvalidate)
	bus.Subscribe(resourceTopic, r.onResource)
	bus.OnReset(r.onReset)
	if r.l2 != nil && bus.Healthy() {
		if err := r.l2.refreshEpoch(context.Background()); err != nil {
			log.Warn("authz: Redis cache level unusable until the bus resynchronises", "err", err)
		}
	}
	r.setDegradedGauge()
	return r
}

// Close stops the in-process cache's goroutine. The resolver must not be
// used after.
func (r *Resolver) Close() {
	r.l1.InvalidateAll()
	r.l1.StopAllGoroutines()
	r.res.InvalidateAll()
	r.res.StopAllGoroutines()
}

// Degraded reports whether the resolver runs without a healthy invalidation
// bus: answers are then at most DegradedTTL old and Redis is not used.
func (r *Resolver) Degraded() bool { return !r.bus.Healthy() }

// Permissions returns the effective permissions of user in tenant. A user who
// is not an active member gets a fault.Unauthenticated error.
func (r *Resolver) Permissions(ctx context.Context, tenantID, userID uuid.UUID) (*Set, error) {
	k := key{tenantID, userID}
	// One warm answer in 64 is timed: the histogram stays representative
	// without two clock reads on every call.
	var start time.Time
	sampled := rand.Uint32()&63 == 0
	if sampled {
		start = time.Now()
	}
	if e, ok := r.l1.GetIfPresent(k); ok {
		r.m.L1Hit.Inc()
		if sampled {
			r.m.CheckL1.Observe(time.Since(start).Seconds())
		}
		if e.set == nil {
			return nil, errNotMember
		}
		return e.set, nil
	}
	return r.miss(ctx, k)
}

// miss answers from L2 or the database and fills the levels.
func (r *Resolver) miss(ctx context.Context, k key) (*Set, error) {
	start, read := time.Now(), r.now()
	r.m.L1Miss.Inc()
	gen := r.gen.Load()
	healthy := r.bus.Healthy()
	var (
		e     *entry
		st    stamp
		level = r.m.CheckDB
	)
	if r.l2 != nil && healthy && !r.noCache {
		got, s, err := r.l2.get(ctx, k.tenant, k.user)
		switch {
		case err != nil:
			r.log.DebugContext(ctx, "authz: Redis cache level failed; reading the database", "err", err)
		case got != nil:
			r.m.L2Hit.Inc()
			level = r.m.CheckL2
			e = &entry{}
			if got.Member {
				e.set = NewSet(got.Grants...).WithTeams(got.Teams)
			}
		default:
			r.m.L2Miss.Inc()
		}
		st = s
	}
	if e == nil {
		grants, teams, err := r.load(ctx, k.tenant, k.user)
		if err != nil && err != errNotMember {
			return nil, err
		}
		e = &entry{}
		if err == nil {
			e.set = NewSet(grants...).WithTeams(teams)
		}
		if st.readable && r.gen.Load() == gen {
			if err := r.l2.put(ctx, k.tenant, k.user, st, &stored{Member: err == nil, Grants: grants, Teams: teams}); err != nil {
				r.log.DebugContext(ctx, "authz: Redis cache level not written", "err", err)
			}
		}
	}
	e.short, e.read = !healthy, read
	if !r.noCache && r.gen.Load() == gen {
		r.l1.Set(k, e)
		// An invalidation between the check and Set would otherwise leave
		// this entry behind: its gen bump precedes its removal, so either it
		// removes the entry or we see the bump here.
		if r.gen.Load() != gen {
			r.l1.Invalidate(k)
		}
	}
	level.Observe(time.Since(start).Seconds())
	if e.set == nil {
		return nil, errNotMember
	}
	return e.set, nil
}

var errNotMember = fault.New(fault.Unauthenticated, "not an active member of this tenant")

// load reads the member's grants and teams from the database.
func (r *Resolver) load(ctx context.Context, tenantID, userID uuid.UUID) ([]string, []uuid.UUID, error) {
	ctx = viewer.SystemForTenant(ctx, tenantID, viewer.ReasonPermissions)
	ok, err := r.client.Membership.Query().
		Where(membership.TenantID(tenantID), membership.UserID(userID), membership.StatusEQ(membership.StatusActive)).
		Exist(ctx)
	if err != nil {
		return nil, nil, fault.Classify(fmt.Errorf("authz: membership: %w", err))
	}
	if !ok {
		return nil, nil, errNotMember
	}
	roles, err := r.client.Role.Query().
		Where(role.HasMemberRolesWith(memberrole.TenantID(tenantID), memberrole.UserID(userID))).
		Select(role.FieldPermissions).
		All(ctx)
	if err != nil {
		return nil, nil, fault.Classify(fmt.Errorf("authz: roles: %w", err))
	}
	grants := slices.Clone(Implicit)
	for _, ro := range roles {
		grants = append(grants, ro.Permissions...)
	}
	tms, err := r.client.TeamMember.Query().
		Where(teammember.TenantID(tenantID), teammember.UserID(userID)).
		Select(teammember.FieldTeamID).All(ctx)
	if err != nil {
		return nil, nil, fault.Classify(fmt.Errorf("authz: teams: %w", err))
	}
	ids := make([]uuid.UUID, 0, len(tms))
	for _, tm := range tms {
		ids = append(ids, tm.TeamID)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return grants, ids, nil
}

// Invalidate drops the cached permissions of user in tenant on every instance.
// uuid.Nil as user drops the whole tenant; uuid.Nil as tenant drops
// everything. On this instance it takes effect before Invalidate returns.
func (r *Resolver) Invalidate(ctx context.Context, tenantID, userID uuid.UUID) {
	r.m.InvalidatedLocal.Inc()
	r.drop(tenantID, userID)
	c := Change{Kind: ChangePermissions, Tenant: tenantID, User: userID}
	if !r.bus.Healthy() {
		// Redis is failing: do not make the request wait for it. Every
		// instance keeps entries DegradedTTL only meanwhile, and the bus
		// resynchronises all of them (L2 included) once it is back.
		r.bus.Lost()
		r.listeners.notify(c)
		return
	}
	// The Redis version moves before the announcement: an instance that
	// hears it must not find the old entry in L2.
	if r.l2 != nil {
		if err := r.l2.bump(ctx, tenantID, userID); err != nil {
			r.log.WarnContext(ctx, "authz: invalidation not recorded in Redis; the bus will resynchronise", "err", err)
			r.bus.Lost()
		}
	}
	if err := r.bus.Publish(ctx, invalidateTopic, tenantID.String()+"/"+userID.String()); err != nil {
		r.log.WarnContext(ctx, "authz: invalidation not published; the bus will resynchronise", "err", err)
		r.listeners.notify(c)
	}
}

func (r *Resolver) onInvalidate(msg string) {
	r.m.InvalidatedBus.Inc()
	var t, u uuid.UUID
	if len(msg) == 73 {
		t, _ = uuid.Parse(msg[:36])
		u, _ = uuid.Parse(msg[37:])
	}
	if t == uuid.Nil && r.l2 != nil {
		// The sender started a new epoch; adopt it.
		if err := r.l2.refreshEpoch(context.Background()); err != nil {
			r.log.Warn("authz: cache epoch unreadable; Redis level off until the bus resynchronises", "err", err)
		}
	}
	r.drop(t, u)
	r.listeners.notify(Change{Kind: ChangePermissions, Tenant: t, User: u})
}

// drop removes entries from L1; uuid.Nil widens to the tenant or everything.
func (r *Resolver) drop(t, u uuid.UUID) {
	r.gen.Add(1)
	switch {
	case t == uuid.Nil:
		r.l1.InvalidateAll()
	case u != uuid.Nil:
		r.l1.Invalidate(key{t, u})
	default:
		for k := range r.l1.Keys() {
			if k.tenant == t {
				r.l1.Invalidate(k)
			}
		}
	}
}

// onReset follows the health of the bus; see cache.Reset.
func (r *Resolver) onReset(ctx context.Context, why cache.Reset) error {
	var err error
	if r.l2 != nil {
		switch why {
		case cache.ResetResync:
			err = r.l2.newEpoch(ctx)
		case cache.ResetRefresh:
			err = r.l2.refreshEpoch(ctx)
		}
	}
	r.m.InvalidatedReset.Inc()
	r.gen.Add(1)
	r.l1.InvalidateAll()
	r.rm.InvalidatedReset.Inc()
	r.dropResource(uuid.Nil, "", uuid.Nil)
	r.setDegradedGauge()
	r.listeners.notify(Change{Kind: ChangeAll})
	return err
}

func (r *Resolver) setDegradedGauge() {
	if r.Degraded() {
		r.m.Degraded.Set(1)
	} else {
		r.m.Degraded.Set(0)
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
