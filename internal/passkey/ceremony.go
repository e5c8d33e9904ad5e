package passkey

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoCeremony is returned for an unknown, expired or already used ceremony.
var ErrNoCeremony = errors.New("passkey: no such ceremony")

// CeremonyStore keeps the server side of WebAuthn ceremonies between the
// options and the finish call. Put chooses the ceremony id (an unguessable
// string the client sends back). Take is single-use: a ceremony can be
// finished at most once, on any instance.
type CeremonyStore interface {
	Put(ctx context.Context, data []byte, ttl time.Duration) (id string, err error)
	Take(ctx context.Context, id string) ([]byte, error)
}

// newCeremonyID returns 32 random bytes, base64url: unguessable, so the id
// itself carries no authority but cannot be enumerated.
func newCeremonyID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// MemoryStore is the in-process ceremony store of a single instance.
type MemoryStore struct {
	mu    sync.Mutex
	items map[string]memItem
	now   func() time.Time
}

type memItem struct {
	data    []byte
	expires time.Time
}

// maxMemoryCeremonies bounds the in-process store; beyond it, expired items
// are swept and, if still full, new ceremonies are refused.
const maxMemoryCeremonies = 100_000

// NewMemoryStore returns an in-process ceremony store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{items: map[string]memItem{}, now: time.Now}
}

// ErrStoreFull is returned when the in-process store holds too many
// ceremonies.
var ErrStoreFull = errors.New("passkey: too many ceremonies in progress")

// Put implements CeremonyStore.
func (s *MemoryStore) Put(_ context.Context, data []byte, ttl time.Duration) (string, error) {
	id := newCeremonyID()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.items) >= maxMemoryCeremonies {
		for k, v := range s.items {
			if !now.Before(v.expires) {
				delete(s.items, k)
			}
		}
		if len(s.items) >= maxMemoryCeremonies {
			return "", ErrStoreFull
		}
	}
	s.items[id] = memItem{data: data, expires: now.Add(ttl)}
	return id, nil
}

// Take implements CeremonyStore.
func (s *MemoryStore) Take(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	delete(s.items, id)
	if !ok || !s.now().Before(it.expires) {
		return nil, ErrNoCeremony
	}
	return it.data, nil
}

// RedisStore keeps ceremonies in Redis, shared by every instance.
type RedisStore struct{ rdb redis.UniversalClient }

// NewRedisStore returns a Redis-backed ceremony store.
func NewRedisStore(rdb redis.UniversalClient) *RedisStore { return &RedisStore{rdb: rdb} }

const redisCeremonyPrefix = "atrium:ceremony:"

// Put implements CeremonyStore.
func (s *RedisStore) Put(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	id := newCeremonyID()
	if err := s.rdb.Set(ctx, redisCeremonyPrefix+id, data, ttl).Err(); err != nil {
		return "", err
	}
	return id, nil
}

// Take implements CeremonyStore: GETDEL makes it single-use across instances.
func (s *RedisStore) Take(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.GetDel(ctx, redisCeremonyPrefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNoCeremony
	}
	return b, err
}
