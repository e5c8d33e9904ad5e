package authz

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// l2 is the Redis level of the permission cache, shared by all instances.
//
// An entry is only as good as the versions it was built from. Every
// invalidation increments a version before it is announced on the bus
// (a tenant's for uuid.Nil, else the user's), and a reader accepts an entry
// only if it carries the current tenant and user versions and the current
// epoch. So a load that read the database before a change committed and
// writes after its invalidation leaves an entry nobody accepts.
//
// The epoch covers what versions cannot: invalidations that never reached
// Redis (it was down, or unreachable from the instance that made the
// change). After such a gap the bus resynchronises: the epoch is incremented
// once and every instance re-reads it, so everything written before is
// ignored. Instances hold the epoch in process; -1 means "unknown, do not
// use L2".
//
// The three keys of a member share the hash tag {tenant}, so one MGET reads
// them on Redis Cluster too. Redis must not evict the version keys (they
// have no TTL): use a noeviction or volatile-* maxmemory policy.
type l2 struct {
	rdb   redis.UniversalClient
	ttl   time.Duration
	epoch atomic.Int64
}

const epochKey = "atrium:permepoch"

// callTimeout bounds each call to the Redis level: a Redis that stopped
// answering makes a lookup fall back to the database and an invalidation
// rely on the bus's resynchronisation, instead of holding the request.
const callTimeout = 250 * time.Millisecond

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

func newL2(rdb redis.UniversalClient, ttl time.Duration) *l2 {
	c := &l2{rdb: rdb, ttl: ttl}
	c.epoch.Store(-1)
	return c
}

func tenantVerKey(t uuid.UUID) string { return "atrium:{" + t.String() + "}:permver" }
func userVerKey(t, u uuid.UUID) string {
	return "atrium:{" + t.String() + "}:permver:" + u.String()
}
func entryKey(t, u uuid.UUID) string { return "atrium:{" + t.String() + "}:perm:" + u.String() }

// stored is the serialized form of an entry.
type stored struct {
	Epoch  int64       `json:"e"`
	TVer   string      `json:"tv"`
	UVer   string      `json:"uv"`
	Member bool        `json:"m"`
	Grants []string    `json:"g,omitempty"`
	Teams  []uuid.UUID `json:"t,omitempty"`
}

// stamp is what a load read before going to the database; put writes the
// loaded entry under it.
type stamp struct {
	epoch    int64
	tv, uv   string
	readable bool // false: L2 was not usable, do not write either
}

// get returns the entry of (t, u) if it is current, and the stamp to write a
// fresh one under.
func (c *l2) get(ctx context.Context, t, u uuid.UUID) (*stored, stamp, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	ep := c.epoch.Load()
	if ep < 0 {
		return nil, stamp{}, nil
	}
	vals, err := c.rdb.MGet(ctx, tenantVerKey(t), userVerKey(t, u), entryKey(t, u)).Result()
	if err != nil {
		return nil, stamp{}, err
	}
	st := stamp{epoch: ep, tv: str(vals[0]), uv: str(vals[1]), readable: true}
	raw := str(vals[2])
	if raw == "" {
		return nil, st, nil
	}
	var e stored
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return nil, st, nil // unreadable: rebuild it
	}
	if e.Epoch != st.epoch || e.TVer != st.tv || e.UVer != st.uv {
		return nil, st, nil
	}
	return &e, st, nil
}

func (c *l2) put(ctx context.Context, t, u uuid.UUID, st stamp, e *stored) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if !st.readable || c.epoch.Load() != st.epoch {
		return nil
	}
	e.Epoch, e.TVer, e.UVer = st.epoch, st.tv, st.uv
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, entryKey(t, u), b, c.ttl).Err()
}

// bump makes the entries of (t, u) — all of t for uuid.Nil — stale.
func (c *l2) bump(ctx context.Context, t, u uuid.UUID) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if t == uuid.Nil {
		return c.newEpoch(ctx)
	}
	k := tenantVerKey(t)
	if u != uuid.Nil {
		k = userVerKey(t, u)
	}
	return c.rdb.Incr(ctx, k).Err()
}

// newEpoch makes every entry stale.
func (c *l2) newEpoch(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	n, err := c.rdb.Incr(ctx, epochKey).Result()
	if err != nil {
		c.epoch.Store(-1)
		return err
	}
	c.epoch.Store(n)
	return nil
}

// refreshEpoch adopts the current epoch.
func (c *l2) refreshEpoch(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	s, err := c.rdb.Get(ctx, epochKey).Result()
	if errors.Is(err, redis.Nil) {
		s, err = "0", nil
	}
	if err != nil {
		c.epoch.Store(-1)
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		c.epoch.Store(-1)
		return errors.New("authz: unreadable cache epoch")
	}
	c.epoch.Store(n)
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
