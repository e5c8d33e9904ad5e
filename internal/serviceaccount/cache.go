package serviceaccount

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"

	"atrium/ent"
	entsa "atrium/ent/serviceaccount"
	"atrium/internal/cache"
	"atrium/internal/viewer"
)

// changedTopic carries the ids of service accounts whose row or keys
// changed ("" for all) to every instance's cache.
const changedTopic = "serviceaccount.changed"

// cacheTTL bounds how long an account is kept while the bus is healthy;
// every change reaches the cache as a message long before.
const cacheTTL = 5 * time.Minute

// maxCached bounds the cache (accounts, each with its few keys).
const maxCached = 50_000

// snapshot is what the token exchange and the bearer check need of one
// service account: its row and every key it has (revoked and expired ones
// too, so that a refusal names the right reason), each key parsed once.
// Only accounts that exist are kept: anybody can make up an id.
type snapshot struct {
	sa    *ent.ServiceAccount
	keys  map[string]*snapKey // by kid
	short bool                // loaded while the bus was unhealthy
	read  time.Time           // when the load began
}

type snapKey struct {
	row *ent.ServiceAccountKey
	pub *PublicKey // nil: the stored key is unreadable (registration prevents it)
}

// accounts is the service-account cache: in process, invalidated across
// instances through the bus like the session and permission caches. A nil
// *accounts caches nothing.
type accounts struct {
	bus         cache.Bus
	c           *otter.Cache[uuid.UUID, *snapshot]
	gen         atomic.Uint64
	now         func() time.Time
	degradedTTL time.Duration
}

func newAccounts(bus cache.Bus, now func() time.Time, degradedTTL time.Duration) *accounts {
	if bus == nil {
		return nil
	}
	if degradedTTL <= 0 {
		degradedTTL = 2 * time.Second
	}
	a := &accounts{bus: bus, now: now, degradedTTL: degradedTTL}
	a.c = otter.Must(&otter.Options[uuid.UUID, *snapshot]{
		MaximumSize: maxCached,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[uuid.UUID, *snapshot]) time.Duration {
			ttl := cacheTTL
			if e.Value.short {
				ttl = a.degradedTTL
			}
			return max(ttl-a.now().Sub(e.Value.read), time.Nanosecond)
		}),
		Clock: cache.Clock(now),
	})
	bus.Subscribe(changedTopic, func(msg string) {
		a.gen.Add(1)
		if id, err := uuid.Parse(msg); err == nil {
			a.c.Invalidate(id)
		} else {
			a.c.InvalidateAll()
		}
	})
	bus.OnReset(func(context.Context, cache.Reset) error {
		a.gen.Add(1)
		a.c.InvalidateAll()
		return nil
	})
	return a
}

// close stops the cache's goroutines.
func (a *accounts) close() {
	if a != nil {
		a.c.InvalidateAll()
		a.c.StopAllGoroutines()
	}
}

// errNoAccount is an account id that names no account.
var errNoAccount = errors.New("no such service account")

// snapshotOf returns service account id with its keys, from the cache or
// the database (as the system for reason: the caller is not known yet). A
// missing account is errNoAccount and is not kept.
func (s *Service) snapshotOf(ctx context.Context, id uuid.UUID, reason viewer.Reason) (*snapshot, error) {
	a := s.cache
	if a != nil {
		if e, ok := a.c.GetIfPresent(id); ok {
			return e, nil
		}
	}
	var gen uint64
	healthy := true
	if a != nil {
		gen, healthy = a.gen.Load(), a.bus.Healthy()
	}
	read := s.now()
	sa, err := s.client.ServiceAccount.Query().Where(entsa.ID(id)).WithKeys().Only(viewer.System(ctx, reason))
	if ent.IsNotFound(err) {
		return nil, errNoAccount
	}
	if err != nil {
		return nil, err
	}
	snap := &snapshot{sa: sa, keys: make(map[string]*snapKey, len(sa.Edges.Keys)), short: !healthy, read: read}
	for _, k := range sa.Edges.Keys {
		sk := &snapKey{row: k}
		if pk, err := ParsePublicKey(k.PublicKey); err == nil {
			sk.pub = pk
		}
		snap.keys[k.Kid] = sk
	}
	if a != nil && a.gen.Load() == gen {
		a.c.Set(id, snap)
		if a.gen.Load() != gen { // an invalidation raced with Set
			a.c.Invalidate(id)
		}
	}
	return snap, nil
}

// forget drops account id from every instance's cache; call it after a
// commit that changed the account or its keys. On this instance it takes
// effect before it returns; a message that cannot be sent makes the bus
// resynchronise every instance, and meanwhile they keep entries briefly.
func (s *Service) forget(ctx context.Context, id uuid.UUID) {
	a := s.cache
	if a == nil {
		return
	}
	a.gen.Add(1)
	a.c.Invalidate(id)
	if err := a.bus.Publish(ctx, changedTopic, id.String()); err != nil && !errors.Is(err, cache.ErrUnhealthy) {
		s.log.ErrorContext(ctx, "service account invalidation not published", "service_account_id", id, "err", err)
	}
}
