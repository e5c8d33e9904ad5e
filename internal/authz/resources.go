package authz

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"

	"atrium/ent"
)

// resourceTopic carries invalidations of cached resource facts (owner and
// shares): "tenant/type/id", "tenant//" for a whole tenant, "" for all.
const resourceTopic = "authz.resource"

// negativeTTL bounds how long "no such resource in this tenant" is kept.
// Ids are random UUIDv7 made by the server, so an id nobody created cannot
// appear later through the API; the bound covers rows written outside it
// (a legacy import).
const negativeTTL = time.Minute

// maxResourceWeight bounds the resource cache: one unit per resource plus
// one per share it has.
const maxResourceWeight = 1_000_000

type rkey struct {
	tenant uuid.UUID
	rt     ResourceType
	id     uuid.UUID
}

// grant is one share of a resource.
type grant struct {
	subject uuid.UUID
	team    bool
	level   Level
}

// facts is what the resource rule needs to know of one resource, whoever
// asks: whether the tenant holds it, its creator, and all its shares.
type facts struct {
	exists  bool
	creator uuid.UUID
	shares  []grant
	short   bool      // loaded while the bus was unhealthy
	read    time.Time // when the load began
}

// ChangeKind says what a Change is about.
type ChangeKind int

// Kinds of Change.
const (
	// ChangePermissions: the permissions or teams of User in Tenant (all
	// users of Tenant for uuid.Nil; everything for a nil Tenant).
	ChangePermissions ChangeKind = iota + 1
	// ChangeResource: the owner or shares of one resource (ResourceType,
	// ResourceID) in Tenant; every resource of Tenant for a nil ResourceID;
	// everything for a nil Tenant.
	ChangeResource
	// ChangeAll: the caches were reset (the bus degraded, recovered or
	// resynchronised); any answer may have changed.
	ChangeAll
)

// Change tells a listener (Resolver.OnChange) which cached answers were
// just dropped on this instance.
type Change struct {
	Kind         ChangeKind
	Tenant, User uuid.UUID
	ResourceType ResourceType
	ResourceID   uuid.UUID
}

// listeners are the OnChange callbacks of a Resolver.
type listeners struct {
	mu  sync.RWMutex
	fns []func(Change)
}

func (l *listeners) add(fn func(Change)) {
	l.mu.Lock()
	l.fns = append(l.fns, fn)
	l.mu.Unlock()
}

func (l *listeners) notify(c Change) {
	l.mu.RLock()
	fns := l.fns
	l.mu.RUnlock()
	for _, fn := range fns {
		fn(c)
	}
}

// OnChange calls fn after every invalidation this instance applies (its own
// and other instances', from the bus) and after every cache reset, once the
// cached answers are gone: an answer read in or after fn is fresh. fn runs
// on the bus's goroutine or the invalidating request's and must not block.
// The real-time hub uses it to recheck the connections a change affects.
func (r *Resolver) OnChange(fn func(Change)) { r.listeners.add(fn) }

func newResourceCache(r *Resolver, clk otter.Clock) *otter.Cache[rkey, *facts] {
	return otter.Must(&otter.Options[rkey, *facts]{
		MaximumWeight: maxResourceWeight,
		Weigher:       func(_ rkey, f *facts) uint32 { return uint32(1 + len(f.shares)) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[rkey, *facts]) time.Duration {
			ttl := r.ttl
			switch {
			case e.Value.short:
				ttl = r.degradedTTL
			case !e.Value.exists:
				ttl = min(ttl, negativeTTL)
			}
			return max(ttl-r.now().Sub(e.Value.read), time.Nanosecond)
		}),
		Clock: clk,
	})
}

// resources returns the facts of ids in tenant: from the cache, and for the
// rest from load (which must answer for the tenant of ctx's viewer). A load
// that raced with an invalidation is returned but not kept.
func (r *Resolver) resources(ctx context.Context, tenant uuid.UUID, rt ResourceType, ids []uuid.UUID,
	load func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*facts, error),
) (map[uuid.UUID]*facts, error) {
	out := make(map[uuid.UUID]*facts, len(ids))
	var miss []uuid.UUID
	hits := 0
	for _, id := range ids {
		if _, dup := out[id]; dup {
			continue
		}
		if f, ok := r.res.GetIfPresent(rkey{tenant, rt, id}); ok && !r.noCache {
			hits++
			out[id] = f
			continue
		}
		out[id] = nil
		miss = append(miss, id)
	}
	if hits > 0 {
		r.rm.L1Hit.Add(float64(hits))
	}
	if len(miss) == 0 {
		return out, nil
	}
	r.rm.L1Miss.Add(float64(len(miss)))
	gen, healthy, read := r.resGen.Load(), r.bus.Healthy(), r.now()
	loaded, err := load(ctx, miss)
	if err != nil {
		return nil, err
	}
	keep := !r.noCache && r.resGen.Load() == gen
	for _, id := range miss {
		f := loaded[id]
		if f == nil {
			f = &facts{}
		}
		f.short, f.read = !healthy, read
		out[id] = f
		if keep {
			r.res.Set(rkey{tenant, rt, id}, f)
		}
	}
	// An invalidation between the check and Set: its generation bump
	// precedes its removal, so either it removed these or we see it here.
	if keep && r.resGen.Load() != gen {
		for _, id := range miss {
			r.res.Invalidate(rkey{tenant, rt, id})
		}
	}
	return out, nil
}

// InvalidateResource drops the cached owner and shares of resource (rt, id)
// of tenant on every instance; uuid.Nil as id drops every resource of the
// tenant, uuid.Nil as tenant everything. On this instance it takes effect
// before it returns. Call it after the change commits
// (InvalidateResourceOnCommit).
func (r *Resolver) InvalidateResource(ctx context.Context, tenant uuid.UUID, rt ResourceType, id uuid.UUID) {
	r.rm.InvalidatedLocal.Inc()
	if id == uuid.Nil {
		rt = ""
	}
	r.dropResource(tenant, rt, id)
	c := Change{Kind: ChangeResource, Tenant: tenant, ResourceType: rt, ResourceID: id}
	if !r.bus.Healthy() {
		// Nobody else hears it now: the bus resynchronises every instance
		// once Redis is back, and meanwhile entries live DegradedTTL only.
		r.bus.Lost()
		r.listeners.notify(c)
		return
	}
	msg := ""
	if tenant != uuid.Nil {
		msg = tenant.String() + "/" + string(rt) + "/"
		if id != uuid.Nil {
			msg += id.String()
		}
	}
	if err := r.bus.Publish(ctx, resourceTopic, msg); err != nil {
		r.log.WarnContext(ctx, "authz: resource invalidation not published; the bus will resynchronise", "err", err)
		r.listeners.notify(c)
	}
}

// InvalidateResourceOnCommit calls InvalidateResource once tx commits.
func (r *Resolver) InvalidateResourceOnCommit(ctx context.Context, tx *ent.Tx, tenant uuid.UUID, rt ResourceType, id uuid.UUID) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(cctx context.Context, tx *ent.Tx) error {
			err := next.Commit(cctx, tx)
			if err == nil {
				r.InvalidateResource(ctx, tenant, rt, id)
			}
			return err
		})
	})
}

// parseResource reads a resourceTopic message; ok is false for one that
// names nothing precisely (then everything is dropped).
func parseResource(msg string) (tenant uuid.UUID, rt ResourceType, id uuid.UUID, ok bool) {
	parts := strings.Split(msg, "/")
	if len(parts) != 3 {
		return uuid.Nil, "", uuid.Nil, false
	}
	t, err := uuid.Parse(parts[0])
	if err != nil {
		return uuid.Nil, "", uuid.Nil, false
	}
	if parts[2] == "" {
		return t, "", uuid.Nil, true
	}
	i, err := uuid.Parse(parts[2])
	if err != nil || parts[1] == "" {
		return uuid.Nil, "", uuid.Nil, false
	}
	return t, ResourceType(parts[1]), i, true
}

func (r *Resolver) onResource(msg string) {
	r.rm.InvalidatedBus.Inc()
	t, rt, id, ok := parseResource(msg)
	if !ok {
		t, rt, id = uuid.Nil, "", uuid.Nil
	}
	r.dropResource(t, rt, id)
	r.listeners.notify(Change{Kind: ChangeResource, Tenant: t, ResourceType: rt, ResourceID: id})
}

// dropResource removes cached facts; uuid.Nil widens to the tenant or
// everything.
func (r *Resolver) dropResource(t uuid.UUID, rt ResourceType, id uuid.UUID) {
	r.resGen.Add(1)
	switch {
	case t == uuid.Nil:
		r.res.InvalidateAll()
	case id != uuid.Nil:
		r.res.Invalidate(rkey{t, rt, id})
	default:
		for k := range r.res.Keys() {
			if k.tenant == t {
				r.res.Invalidate(k)
			}
		}
	}
}
