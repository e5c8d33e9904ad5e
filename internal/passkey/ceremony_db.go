package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"atrium/ent"
	entceremony "atrium/ent/ceremony"
	"atrium/internal/viewer"
)

// DBStore keeps ceremonies in the database: the store Atrium falls back to
// while Redis fails, shared by every instance like Redis. A row is keyed by
// the SHA-256 of the ceremony id, lives until its expiry and is deleted by the
// Take that uses it; the DELETE's row count decides which of two concurrent
// Takes wins, so a ceremony is used at most once across instances.
type DBStore struct {
	client *ent.Client
	now    func() time.Time
}

// NewDBStore returns a database ceremony store; now is its clock (nil is
// time.Now).
func NewDBStore(client *ent.Client, now func() time.Time) *DBStore {
	if now == nil {
		now = time.Now
	}
	return &DBStore{client: client, now: now}
}

// dbSweepBatch bounds the expired rows one Put deletes. Every Put adds one
// row and removes up to this many expired ones, so expired rows cannot pile
// up: the table holds the ceremonies of the last TTL plus at most one batch.
const dbSweepBatch = 100

func ceremonyKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Put implements CeremonyStore.
func (s *DBStore) Put(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	ctx = viewer.System(ctx, viewer.ReasonSignIn)
	now := s.now().UTC()
	if _, err := s.Sweep(ctx, now); err != nil {
		return "", err
	}
	id := newCeremonyID()
	err := s.client.Ceremony.Create().SetID(ceremonyKey(id)).SetData(data).SetExpiresAt(now.Add(ttl)).Exec(ctx)
	if err != nil {
		return "", err
	}
	return id, nil
}

// Take implements CeremonyStore.
func (s *DBStore) Take(ctx context.Context, id string) ([]byte, error) {
	ctx = viewer.System(ctx, viewer.ReasonSignIn)
	key := ceremonyKey(id)
	row, err := s.client.Ceremony.Get(ctx, key)
	if ent.IsNotFound(err) {
		return nil, ErrNoCeremony
	}
	if err != nil {
		return nil, err
	}
	n, err := s.client.Ceremony.Delete().Where(entceremony.ID(key)).Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 || !s.now().Before(row.ExpiresAt) {
		return nil, ErrNoCeremony // another Take won, or too late
	}
	return row.Data, nil
}

// Sweep deletes up to one batch of ceremonies expired at now and returns how
// many it deleted.
func (s *DBStore) Sweep(ctx context.Context, now time.Time) (int, error) {
	ctx = viewer.System(ctx, viewer.ReasonSignIn)
	keys, err := s.client.Ceremony.Query().Where(entceremony.ExpiresAtLTE(now.UTC())).
		Limit(dbSweepBatch).IDs(ctx)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	return s.client.Ceremony.Delete().Where(entceremony.IDIn(keys...)).Exec(ctx)
}

// dbCeremonyPrefix marks the ids of ceremonies kept by the fallback store.
// Ceremony ids are base64url, which has no '.', so the mark is unambiguous;
// it tells nothing but that Redis was failing when the ceremony began.
const dbCeremonyPrefix = "db."

// FallbackStore keeps ceremonies in a primary store (Redis) and, while the
// primary fails, in the database. A ceremony is finished in the store that
// began it, which its id says: a ceremony begun in the database works
// whatever Redis does, and one begun in Redis cannot be finished while
// Redis is down (Take then fails with the primary's error, a 503).
//
// After a primary failure, Puts go straight to the database for the probe
// interval, so that sign-ins do not each wait for a dead Redis; then one
// Put probes Redis again.
type FallbackStore struct {
	primary  CeremonyStore
	fallback *DBStore
	log      *slog.Logger
	now      func() time.Time

	degraded  atomic.Bool
	nextProbe atomic.Int64 // unix ns; while degraded, the primary is skipped before it
}

// Fallback timing: how long one primary Put may take, and how long the
// primary is skipped after it failed.
const (
	fallbackPrimaryTimeout = 500 * time.Millisecond
	fallbackProbeInterval  = 5 * time.Second
)

// NewFallbackStore returns a store using primary, and fallback while
// primary fails; now is the clock (nil is time.Now).
func NewFallbackStore(primary CeremonyStore, fallback *DBStore, log *slog.Logger, now func() time.Time) *FallbackStore {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FallbackStore{primary: primary, fallback: fallback, log: log, now: now}
}

// Degraded reports whether new ceremonies go to the database.
func (s *FallbackStore) Degraded() bool { return s.degraded.Load() }

// Put implements CeremonyStore.
func (s *FallbackStore) Put(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	var perr error
	if now := s.now().UnixNano(); !s.degraded.Load() || now >= s.nextProbe.Load() {
		pctx, cancel := context.WithTimeout(ctx, fallbackPrimaryTimeout)
		id, err := s.primary.Put(pctx, data, ttl)
		cancel()
		if err == nil {
			if s.degraded.Swap(false) {
				s.log.InfoContext(ctx, "ceremonies back in Redis")
			}
			return id, nil
		}
		if ctx.Err() != nil {
			return "", err // the caller gave up, Redis may be fine
		}
		perr = err
		s.nextProbe.Store(now + int64(fallbackProbeInterval))
		if !s.degraded.Swap(true) {
			s.log.WarnContext(ctx, "ceremonies kept in the database while Redis fails", "err", err)
		}
	}
	id, err := s.fallback.Put(ctx, data, ttl)
	if err != nil {
		return "", errors.Join(perr, err)
	}
	return dbCeremonyPrefix + id, nil
}

// Take implements CeremonyStore.
func (s *FallbackStore) Take(ctx context.Context, id string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(id, dbCeremonyPrefix); ok {
		return s.fallback.Take(ctx, rest)
	}
	return s.primary.Take(ctx, id)
}
