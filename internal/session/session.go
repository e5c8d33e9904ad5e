// Package session keeps signed-in sessions: one per device sign-in, carried by
// access tokens as "sid". Every authenticated request checks its session here;
// the answer is cached, and revocation invalidates the cache on every instance
// through the bus, so a revoked session fails on the very next request.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"

	"atrium/ent"
	"atrium/ent/predicate"
	entsession "atrium/ent/session"
	"atrium/internal/cache"
	"atrium/internal/fault"
	"atrium/internal/metrics"
	"atrium/internal/rls"
	"atrium/internal/viewer"
)

const revokeTopic = "session.revoke"

// Lifetimes bound a session.
type Lifetimes struct {
	Idle     time.Duration // ends after this long without use
	Absolute time.Duration // ends this long after sign-in, whatever the use
}

// DefaultLifetimes are 14 days idle, 90 days absolute.
var DefaultLifetimes = Lifetimes{Idle: 14 * 24 * time.Hour, Absolute: 90 * 24 * time.Hour}

// touchEvery is how often use of a session extends its idle expiry in the
// database; between touches the cached state answers.
const touchEvery = time.Minute

type state struct {
	userID, tenantID uuid.UUID
	idleExpires      atomic.Int64 // unix nanos
	expires          time.Time
	revoked          bool
	touched          atomic.Int64 // unix nanos of the last idle extension
	short            bool         // loaded while the bus was unhealthy
	read             time.Time    // when the load began; lifetimes count from it
}

// Store creates, checks and revokes sessions.
type Store struct {
	client *ent.Client
	bus    cache.Bus
	log    *slog.Logger
	life   Lifetimes
	now    func() time.Time
	cache  *otter.Cache[uuid.UUID, *state]
	gen    atomic.Uint64
	m      *metrics.Cache

	degradedTTL time.Duration
	customClock bool

	onRevokeMu sync.RWMutex
	onRevoke   []func(sid uuid.UUID)
}

// Option configures a Store.
type Option func(*Store)

// WithMetrics reports hits, misses and invalidations to m.
func WithMetrics(m *metrics.Metrics) Option { return func(s *Store) { s.m = m.Cache("session") } }

// WithClock sets the time source (default time.Now) of lifetimes and of the
// cache's expiry, so that tests move time instead of sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now, s.customClock = now, true }
}

// WithDegradedTTL bounds how long a session check is cached while the bus is
// unhealthy (default 2 s): a revocation made on another instance then takes
// effect here within that time.
func WithDegradedTTL(d time.Duration) Option { return func(s *Store) { s.degradedTTL = d } }

// NewStore returns a Store subscribed to revocations and resets on bus.
func NewStore(client *ent.Client, bus cache.Bus, log *slog.Logger, life Lifetimes, opts ...Option) *Store {
	s := &Store{client: client, bus: bus, log: log, life: life, now: time.Now, degradedTTL: 2 * time.Second}
	for _, o := range opts {
		o(s)
	}
	if s.m == nil {
		s.m = (*metrics.Metrics)(nil).Cache("session")
	}
	oo := &otter.Options[uuid.UUID, *state]{
		MaximumSize: 200_000,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[uuid.UUID, *state]) time.Duration {
			ttl := 5 * time.Minute
			if e.Value.short {
				ttl = s.degradedTTL
			}
			return max(ttl-s.now().Sub(e.Value.read), time.Nanosecond)
		}),
	}
	if s.customClock {
		oo.Clock = cache.Clock(s.now)
	}
	s.cache = otter.Must(oo)
	bus.Subscribe(revokeTopic, func(msg string) {
		s.m.InvalidatedBus.Inc()
		s.gen.Add(1)
		id, err := uuid.Parse(msg)
		if err == nil {
			s.cache.Invalidate(id)
		} else {
			id = uuid.Nil
			s.cache.InvalidateAll()
		}
		s.notify(id)
	})
	bus.OnReset(func(context.Context, cache.Reset) error {
		s.m.InvalidatedReset.Inc()
		s.gen.Add(1)
		s.cache.InvalidateAll()
		s.notify(uuid.Nil)
		if bus.Healthy() {
			s.m.Degraded.Set(0)
		} else {
			s.m.Degraded.Set(1)
		}
		return nil
	})
	return s
}

// CreateInput opens a session.
type CreateInput struct {
	UserID       uuid.UUID
	TenantID     uuid.UUID
	CredentialID *uuid.UUID
	AMR          []string
}

// Create opens a session inside tx. Its insert needs no answer (ent sets
// the id), so on PostgreSQL it goes with tx's next round trip
// (rls.Deferred): its next statement, or COMMIT; a failure is then theirs.
func (s *Store) Create(ctx context.Context, tx *ent.Tx, in CreateInput) (*ent.Session, error) {
	now := s.now()
	return tx.Session.Create().
		SetUserID(in.UserID).
		SetTenantID(in.TenantID).
		SetNillableCredentialID(in.CredentialID).
		SetAmr(in.AMR).
		SetLastSeenAt(now).
		SetIdleExpiresAt(now.Add(s.life.Idle)).
		SetExpiresAt(now.Add(s.life.Absolute)).
		Save(rls.Deferred(viewer.ForUser(ctx, in.UserID)))
}

// ErrInactive is returned for a revoked, expired or unknown session.
var ErrInactive = fault.New(fault.Unauthenticated, "the session has ended")

// Check returns nil when session sid is active and belongs to user in tenant.
func (s *Store) Check(ctx context.Context, sid, userID, tenantID uuid.UUID) error {
	st, ok := s.cache.GetIfPresent(sid)
	if ok {
		s.m.L1Hit.Inc()
	} else {
		s.m.L1Miss.Inc()
		var err error
		if st, err = s.load(ctx, sid, userID); err != nil {
			return err
		}
	}
	now := s.now()
	if st.revoked || st.userID != userID || st.tenantID != tenantID || !now.Before(st.expires) || now.UnixNano() >= st.idleExpires.Load() {
		return ErrInactive
	}
	if last := st.touched.Load(); now.UnixNano()-last > int64(touchEvery) && st.touched.CompareAndSwap(last, now.UnixNano()) {
		s.touch(ctx, sid, st, now)
	}
	return nil
}

// load reads session sid as its user: another user's session is not found.
func (s *Store) load(ctx context.Context, sid, userID uuid.UUID) (*state, error) {
	gen := s.gen.Load()
	healthy, read := s.bus.Healthy(), s.now()
	row, err := s.client.Session.Get(viewer.ForUser(ctx, userID), sid)
	if ent.IsNotFound(err) {
		return nil, ErrInactive
	}
	if err != nil {
		return nil, fault.Classify(fmt.Errorf("load session: %w", err))
	}
	st := &state{
		userID: row.UserID, tenantID: row.TenantID,
		expires: row.ExpiresAt, revoked: row.RevokedAt != nil, short: !healthy, read: read,
	}
	st.idleExpires.Store(row.IdleExpiresAt.UnixNano())
	st.touched.Store(row.LastSeenAt.UnixNano())
	if s.gen.Load() == gen {
		s.cache.Set(sid, st)
		if s.gen.Load() != gen { // an invalidation raced with Set
			s.cache.Invalidate(sid)
		}
	}
	return st, nil
}

// touch extends the idle expiry. It is best effort: a failure is logged and
// the request goes on.
func (s *Store) touch(ctx context.Context, sid uuid.UUID, st *state, now time.Time) {
	idle := now.Add(s.life.Idle)
	if idle.After(st.expires) {
		idle = st.expires
	}
	err := s.client.Session.Update().
		Where(entsession.ID(sid), entsession.RevokedAtIsNil()).
		SetLastSeenAt(now).SetIdleExpiresAt(idle).
		Exec(viewer.ForUser(ctx, st.userID))
	if err != nil {
		s.log.WarnContext(ctx, "session touch failed", "session_id", sid, "err", err)
		return
	}
	st.idleExpires.Store(idle.UnixNano())
}

// Revoke ends session sid, on every instance. With a transaction, the caches
// are invalidated after it commits (never before: a request in between could
// cache the not-yet-revoked state again).
func (s *Store) Revoke(ctx context.Context, tx *ent.Tx, sid uuid.UUID, reason string) error {
	_, err := s.RevokeWhere(ctx, tx, reason, entsession.ID(sid))
	return err
}

// RevokeWhere ends every active session matching ps and returns their ids.
func (s *Store) RevokeWhere(ctx context.Context, tx *ent.Tx, reason string, ps ...predicate.Session) ([]uuid.UUID, error) {
	c := s.client.Session
	if tx != nil {
		c = tx.Session
	}
	sys := viewer.System(ctx, viewer.ReasonSessionRevoke)
	ps = append(ps, entsession.RevokedAtIsNil())
	ids, err := c.Query().Where(ps...).IDs(sys)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	if err := c.Update().Where(entsession.IDIn(ids...), entsession.RevokedAtIsNil()).
		SetRevokedAt(s.now()).SetRevokedReason(reason).Exec(sys); err != nil {
		return nil, fmt.Errorf("revoke session: %w", err)
	}
	forget := func() {
		for _, id := range ids {
			s.Forget(ctx, id)
		}
	}
	if tx == nil {
		forget()
		return ids, nil
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				forget()
			}
			return err
		})
	})
	return ids, nil
}

// OnRevoke calls fn after this instance dropped a session from its cache
// (revoked or changed here or on another instance; uuid.Nil: every session,
// after a cache reset), so a check made in or after fn reads it afresh. fn
// must not block. The real-time hub uses it to recheck that session's
// connections at once.
func (s *Store) OnRevoke(fn func(sid uuid.UUID)) {
	s.onRevokeMu.Lock()
	s.onRevoke = append(s.onRevoke, fn)
	s.onRevokeMu.Unlock()
}

func (s *Store) notify(sid uuid.UUID) {
	s.onRevokeMu.RLock()
	fns := s.onRevoke
	s.onRevokeMu.RUnlock()
	for _, fn := range fns {
		fn(sid)
	}
}

// Forget drops sid from every instance's cache; call it after a commit that
// changed the session.
func (s *Store) Forget(ctx context.Context, sid uuid.UUID) {
	s.m.InvalidatedLocal.Inc()
	s.gen.Add(1)
	s.cache.Invalidate(sid)
	err := s.bus.Publish(ctx, revokeTopic, sid.String())
	if err != nil {
		s.notify(sid) // nobody heard it: at least this instance acts
	}
	if errors.Is(err, cache.ErrUnhealthy) {
		// Expected while Redis is down: every instance keeps sessions for
		// the degraded TTL only, and resynchronises when Redis is back.
		s.log.DebugContext(ctx, "session revocation not published: bus degraded", "session_id", sid)
	} else if err != nil {
		s.log.ErrorContext(ctx, "session revocation not published", "session_id", sid, "err", err)
	}
}

// Close stops the cache's goroutine. The store must not be used after.
func (s *Store) Close() {
	s.cache.InvalidateAll()
	s.cache.StopAllGoroutines()
}
