package token

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeyRing holds the signing keys: the active key that signs, the next key
// that is published but does not sign yet, and retired keys that still
// verify. It reads them from a KeyStore (Reload) and caches the parsed keys
// and the JWKS in memory; lookups on the request path take no lock.
//
// Rotation is two-phase so that a key is always published before it signs:
//
//  1. Rotate with no next key creates one. It appears in every instance's
//     JWKS at their next Reload and in clients' caches within max-age.
//  2. Rotate with a next key at least Options.PublishDelay old promotes it to
//     active, retires the old active key (verifiable until now + TTL +
//     leeway + ReloadEvery, by which time every token it signed, on any
//     instance, has expired) and creates a fresh next key.
//
// So each `atrium keys rotate` both starts signing with a key published one
// period ago and publishes the key of the next period.
type KeyRing struct {
	store KeyStore
	kek   []byte
	opts  Options

	set atomic.Pointer[keySet]

	mu        sync.Mutex            // serialises Reload and rebuilds
	keys      map[string]*verifyKey // parsed keys by kid, reused across reloads
	listeners map[*Service]func()   // called when a kid leaves the trusted set

	lastMissReload atomic.Int64 // unix nanos of the last reload caused by an unknown kid
}

// verifyKey is one parsed key. It lives as long as its kid stays trusted;
// the validation cache points at it, so revoking it here revokes cached
// verifications too.
type verifyKey struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	public crypto.PublicKey
	jwk    jwk
	signer crypto.Signer // nil for keys loaded as retired
	header string        // base64url of the JWS header for this key

	verifyUntil atomic.Int64 // unix nanos; 0 = no limit (next, active)
	untrusted   atomic.Bool
}

// trusted reports whether tokens signed with k may be accepted at now.
func (k *verifyKey) trusted(now int64) bool {
	if k.untrusted.Load() {
		return false
	}
	vu := k.verifyUntil.Load()
	return vu == 0 || now <= vu
}

// keySet is an immutable snapshot of the ring.
type keySet struct {
	stored    []StoredKey
	byKid     map[string]*verifyKey
	signer    *verifyKey
	jwks      []byte
	etag      string
	staleFrom int64 // unix nanos when the earliest retired key expires; 0 = never
}

// NewKeyRing returns a ring over store whose private keys are sealed under
// kek (32 bytes). It holds no keys until Reload or EnsureActive.
func NewKeyRing(store KeyStore, kek []byte, opts Options) (*KeyRing, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(kek) != KEKSize {
		return nil, ErrKEKSize
	}
	r := &KeyRing{store: store, kek: kek, opts: opts, keys: map[string]*verifyKey{}, listeners: map[*Service]func(){}}
	empty, _ := r.build(nil, opts.Now())
	r.set.Store(empty)
	return r, nil
}

// onUntrust registers f for s, called after any kid stops being trusted;
// f nil unregisters.
func (r *KeyRing) onUntrust(s *Service, f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f == nil {
		delete(r.listeners, s)
		return
	}
	r.listeners[s] = f
}

// Reload re-reads the keys from the store. Keys that disappear or whose
// verify_until has passed stop being trusted at once, and verifications
// cached for them are purged. On error the previous keys stay in use.
func (r *KeyRing) Reload(ctx context.Context) error {
	stored, err := r.store.List(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.swapLocked(stored)
}

func (r *KeyRing) swapLocked(stored []StoredKey) error {
	next, err := r.build(stored, r.opts.Now())
	if err != nil {
		return err
	}
	old := r.set.Swap(next)
	dropped := false
	for kid, k := range old.byKid {
		if _, ok := next.byKid[kid]; !ok {
			k.untrusted.Store(true)
			delete(r.keys, kid)
			dropped = true
		}
	}
	if dropped {
		for _, f := range r.listeners {
			f()
		}
	}
	return nil
}

// build parses stored into a snapshot at now. Must hold mu (or own r).
func (r *KeyRing) build(stored []StoredKey, now time.Time) (*keySet, error) {
	s := &keySet{stored: stored, byKid: make(map[string]*verifyKey, len(stored))}
	var active, next, retired []*verifyKey
	activatedAt := map[*verifyKey]time.Time{}
	for _, sk := range stored {
		if sk.Status == StatusRetired && (sk.VerifyUntil.IsZero() || now.After(sk.VerifyUntil)) {
			continue // expired: neither published nor accepted
		}
		k, err := r.parse(sk)
		if err != nil {
			return nil, err
		}
		switch sk.Status {
		case StatusActive:
			k.verifyUntil.Store(0)
			active = append(active, k)
			activatedAt[k] = sk.ActivatedAt
		case StatusNext:
			k.verifyUntil.Store(0)
			next = append(next, k)
		case StatusRetired:
			k.verifyUntil.Store(sk.VerifyUntil.UnixNano())
			retired = append(retired, k)
			if vu := sk.VerifyUntil.UnixNano(); s.staleFrom == 0 || vu < s.staleFrom {
				s.staleFrom = vu
			}
		default:
			return nil, fmt.Errorf("token: signing key %s: unknown status %q", sk.Kid, sk.Status)
		}
		s.byKid[k.kid] = k
	}
	// Several active keys only arise when instances start at once on an
	// empty table; every instance then signs with the same one: the
	// earliest activated (kid breaks ties). The next Rotate retires the rest.
	slices.SortStableFunc(active, func(a, b *verifyKey) int {
		if c := activatedAt[a].Compare(activatedAt[b]); c != 0 {
			return c
		}
		return cmp.Compare(a.kid, b.kid)
	})
	if len(active) > 0 {
		s.signer = active[0]
	}
	published := slices.Concat(active, next, retired)
	s.jwks = jwksJSON(published)
	sum := sha256.Sum256(s.jwks)
	s.etag = `"` + b64.EncodeToString(sum[:16]) + `"`
	return s, nil
}

// parse returns the parsed key for sk, reusing an earlier parse: keys are
// immutable apart from their status.
func (r *KeyRing) parse(sk StoredKey) (*verifyKey, error) {
	k := r.keys[sk.Kid]
	if k != nil && (k.signer != nil || sk.Status == StatusRetired) {
		return k, nil
	}
	method, err := signingMethod(sk.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", sk.Kid, err)
	}
	pub, err := parsePublicKey(sk.Algorithm, sk.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", sk.Kid, err)
	}
	if kid, err := thumbprint(pub); err != nil || kid != sk.Kid {
		return nil, fmt.Errorf("token: signing key %s: kid does not match the public key", sk.Kid)
	}
	j, err := publicJWK(pub)
	if err != nil {
		return nil, err
	}
	j.Kid, j.Alg, j.Use = sk.Kid, sk.Algorithm, "sig"
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{sk.Algorithm, sk.Kid, "JWT"})
	if err != nil {
		return nil, err
	}
	var signer crypto.Signer
	if sk.Status != StatusRetired {
		// The private half is only needed by keys that sign now or later;
		// decrypting next keys too reports a wrong KEK before it matters.
		der, err := Open(r.kek, sk.PrivateKeyEnc, sealAAD(sk.Kid))
		if err != nil {
			return nil, fmt.Errorf("token: cannot decrypt signing key %s: %w", sk.Kid, err)
		}
		signer, err = parsePrivateKey(sk.Algorithm, der, pub)
		clear(der)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: %w", sk.Kid, err)
		}
	}
	k = &verifyKey{kid: sk.Kid, alg: sk.Algorithm, method: method, public: pub, jwk: j, signer: signer, header: b64.EncodeToString(hdr)}
	r.keys[sk.Kid] = k
	return k, nil
}

// current returns the snapshot for now, rebuilding it once the earliest
// retired key has passed its verify_until.
func (r *KeyRing) current() *keySet {
	s := r.set.Load()
	if s.staleFrom == 0 || r.opts.Now().UnixNano() <= s.staleFrom {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.set.Load(); s.staleFrom != 0 && r.opts.Now().UnixNano() > s.staleFrom {
		if err := r.swapLocked(s.stored); err != nil {
			r.opts.Logger.Error("token: rebuild signing keys", "err", err)
		}
	}
	return r.set.Load()
}

// lookup returns the trusted key kid, or nil. An unknown kid triggers at most
// one reload per MissReloadInterval, for a key another instance just created.
func (r *KeyRing) lookup(ctx context.Context, kid string) *verifyKey {
	now := r.opts.Now().UnixNano()
	if k := r.current().byKid[kid]; k != nil {
		if k.trusted(now) {
			return k
		}
		return nil
	}
	last := r.lastMissReload.Load()
	if now-last < int64(MissReloadInterval) || !r.lastMissReload.CompareAndSwap(last, now) {
		return nil
	}
	if err := r.Reload(ctx); err != nil {
		r.opts.Logger.WarnContext(ctx, "token: reload signing keys after unknown kid", "err", err)
		return nil
	}
	if k := r.current().byKid[kid]; k != nil && k.trusted(now) {
		return k
	}
	return nil
}

// signer returns the active key.
func (r *KeyRing) signer() *verifyKey { return r.current().signer }

// ActiveKid is the kid of the signing key, or "" if there is none.
func (r *KeyRing) ActiveKid() string {
	if k := r.signer(); k != nil {
		return k.kid
	}
	return ""
}

// Run reloads the ring every interval (Options.ReloadEvery if every <= 0)
// until ctx ends, so rotations done elsewhere reach this instance. Failures
// are logged and the previous keys stay in use.
func (r *KeyRing) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = r.opts.ReloadEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
				r.opts.Logger.WarnContext(ctx, "token: reload signing keys", "err", err)
			}
		}
	}
}

// EnsureActive makes sure an active key exists, creating one on first start.
// It is idempotent. Instances starting at once on an empty table may each
// create one; they all then sign with the same one (see build), and each
// tolerates losing the race on a kid.
func (r *KeyRing) EnsureActive(ctx context.Context) error {
	_, err := r.ensureActive(ctx)
	return err
}

// ensureActive is EnsureActive, returning the kid it created, if any.
func (r *KeyRing) ensureActive(ctx context.Context) (string, error) {
	if err := r.Reload(ctx); err != nil {
		return "", err
	}
	if r.signer() != nil {
		return "", nil
	}
	k, err := newStoredKey(r.opts.Algorithm, r.kek, StatusActive)
	if err != nil {
		return "", err
	}
	now := r.opts.Now()
	k.CreatedAt, k.ActivatedAt = now, now
	if err := r.store.Create(ctx, k); err != nil && !errors.Is(err, ErrKeyExists) {
		return "", err
	}
	if err := r.Reload(ctx); err != nil {
		return "", err
	}
	if r.signer() == nil {
		return "", ErrNoSigningKey
	}
	return k.Kid, nil
}

// RotateResult says what Rotate did.
type RotateResult struct {
	Initial     string    // kid of an active key created because there was none
	Created     string    // kid of the new next key
	Activated   string    // kid promoted from next to active; "" in phase one
	Retired     []string  // kids retired
	VerifyUntil time.Time // when the retired keys stop verifying
}

// Rotate advances the key life cycle by one step; see KeyRing for the two
// phases. It fails with ErrRotateTooSoon when the next key is younger than
// Options.PublishDelay, and with ErrConflict when another process rotated at
// the same moment.
func (r *KeyRing) Rotate(ctx context.Context) (RotateResult, error) {
	var res RotateResult
	var err error
	if res.Initial, err = r.ensureActive(ctx); err != nil {
		return res, err
	}
	now := r.opts.Now()
	var nexts []StoredKey // oldest first, as List returns them
	var active []string
	for _, sk := range r.set.Load().stored {
		switch sk.Status {
		case StatusNext:
			nexts = append(nexts, sk)
		case StatusActive:
			active = append(active, sk.Kid)
		}
	}
	if len(nexts) > 0 {
		next := nexts[0]
		if age := now.Sub(next.CreatedAt); r.opts.PublishDelay > 0 && age < r.opts.PublishDelay {
			return res, fmt.Errorf("%w: %s published %s ago, needs %s", ErrRotateTooSoon, next.Kid, age.Round(time.Second), r.opts.PublishDelay)
		}
		vu := now.Add(r.opts.retireGrace())
		if err := r.store.Promote(ctx, next.Kid, active, now, vu); err != nil {
			return res, errors.Join(err, r.Reload(ctx))
		}
		res.Activated, res.Retired, res.VerifyUntil = next.Kid, active, vu
		if len(nexts) > 1 {
			// Concurrent first phases left a spare next key, already
			// published: it serves as the next key, so none is created.
			return res, r.Reload(ctx)
		}
	}
	k, err := newStoredKey(r.opts.Algorithm, r.kek, StatusNext)
	if err != nil {
		return res, errors.Join(err, r.Reload(ctx))
	}
	k.CreatedAt = now
	if err := r.store.Create(ctx, k); err != nil {
		return res, errors.Join(err, r.Reload(ctx))
	}
	res.Created = k.Kid
	return res, r.Reload(ctx)
}

// JWKS returns the RFC 7517 key set of every published key: active, next
// and retired keys still within verify_until. The slice is shared; do not
// modify it.
func (r *KeyRing) JWKS() []byte { return r.current().jwks }
