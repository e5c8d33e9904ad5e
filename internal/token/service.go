// Package token issues and verifies Atrium's JWT access tokens and manages the
// signing keys behind them: a ring of keys stored in the database with the
// private halves sealed under a key-encryption key, two-phase rotation that
// publishes a key in the JWKS before it signs, and a bounded cache of
// successful verifications that never outlives a token.
package token

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"

	"atrium/internal/cache"
)

// MaxTokenBytes is the longest token Verify looks at.
const MaxTokenBytes = 8 << 10

// Claims are the claims of an access token.
type Claims struct {
	Issuer    string    // iss
	Audience  string    // aud (the configured audience the token carries)
	Subject   uuid.UUID // sub: the user, or the service account
	TenantID  uuid.UUID // tid: the tenant the token acts in
	SessionID uuid.UUID // sid: the session, checked for revocation per request (users only)
	// ClientID (client_id, RFC 9068) is set only on a service account's
	// token: it equals Subject, and such a token has no session.
	ClientID  uuid.UUID
	ID        string    // jti
	AMR       []string  // amr: how the user authenticated, e.g. ["hwk", "user"]
	IssuedAt  time.Time // iat
	NotBefore time.Time // nbf
	ExpiresAt time.Time // exp
	KeyID     string    // kid of the key that signed the token (set by Verify)
}

// Service issues and verifies access tokens with the keys of a KeyRing.
type Service struct {
	ring   *KeyRing
	opts   Options
	parser *jwt.Parser
	cache  *otter.Cache[[sha256.Size]byte, *cacheEntry]
}

// cacheEntry is one successful verification. claims is shared by every
// caller that presents the same token.
type cacheEntry struct {
	claims Claims
	exp    int64 // unix nanos
	key    *verifyKey
}

// New returns the Service issuing and verifying with ring. opts should be the
// value given to NewKeyRing.
func New(ring *KeyRing, opts Options) (*Service, error) {
	injectedClock := opts.Now != nil
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		ring: ring,
		opts: opts,
		parser: jwt.NewParser(
			jwt.WithIssuer(opts.Issuer),
			jwt.WithAudience(opts.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithNotBeforeRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(opts.Leeway),
			jwt.WithTimeFunc(opts.Now),
			jwt.WithStrictDecoding(), // one encoding per signature: no malleable variants
		),
	}
	co := &otter.Options[[sha256.Size]byte, *cacheEntry]{
		MaximumSize: opts.CacheSize,
		// Each entry expires at its token's exp; Verify also checks exp on
		// every hit, so a late eviction can never extend a token's life.
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[[sha256.Size]byte, *cacheEntry]) time.Duration {
			return time.Duration(e.Value.exp - opts.Now().UnixNano())
		}),
	}
	if injectedClock {
		co.Clock = cache.Clock(opts.Now)
	}
	cache, err := otter.New(co)
	if err != nil {
		return nil, fmt.Errorf("token: validation cache: %w", err)
	}
	s.cache = cache
	ring.onUntrust(s, cache.InvalidateAll)
	return s, nil
}

// Close releases the validation cache and its goroutine. The ring stays
// usable; only services built for a short while (tests) need to call it.
func (s *Service) Close() {
	s.ring.onUntrust(s, nil)
	s.cache.InvalidateAll()
	s.cache.StopAllGoroutines()
}

// Ring returns the key ring (for the JWKS handler and rotation).
func (s *Service) Ring() *KeyRing { return s.ring }

// wireClaims is the JSON payload of an issued token.
type wireClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud string   `json:"aud"`
	Exp int64    `json:"exp"`
	Nbf int64    `json:"nbf"`
	Iat int64    `json:"iat"`
	Jti string   `json:"jti"`
	Tid string   `json:"tid"`
	Sid string   `json:"sid,omitempty"`
	Cid string   `json:"client_id,omitempty"`
	AMR []string `json:"amr,omitempty"`
}

// Issue signs an access token for c with the active key. Subject, TenantID
// and SessionID are required — or, for a service account, Subject, TenantID
// and ClientID equal to Subject, without a session; iss, aud, iat, nbf and jti are filled in, and
// exp is now + TTL unless c.ExpiresAt is set earlier (say, the session ends
// sooner).
func (s *Service) Issue(ctx context.Context, c Claims) (string, error) {
	if c.Subject == uuid.Nil || c.TenantID == uuid.Nil {
		return "", errors.New("token: issue: subject and tenant are required")
	}
	var sid, cid string
	switch {
	case c.ClientID == uuid.Nil && c.SessionID != uuid.Nil:
		sid = c.SessionID.String()
	case c.ClientID != uuid.Nil && c.ClientID == c.Subject && c.SessionID == uuid.Nil:
		cid = c.ClientID.String()
	default:
		return "", errors.New("token: issue: a session (user) or a client id equal to the subject (service account), not both")
	}
	k := s.ring.signer()
	if k == nil || k.signer == nil {
		return "", ErrNoSigningKey
	}
	now := s.opts.Now()
	exp := now.Add(s.opts.TTL)
	if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(exp) {
		exp = c.ExpiresAt
	}
	if !exp.After(now) {
		return "", errors.New("token: issue: expiry is not in the future")
	}
	jti := c.ID
	if jti == "" {
		jti = uuid.NewString()
	}
	payload, err := json.Marshal(wireClaims{
		Iss: s.opts.Issuer, Sub: c.Subject.String(), Aud: s.opts.Audience,
		Exp: exp.Unix(), Nbf: now.Unix(), Iat: now.Unix(), Jti: jti,
		Tid: c.TenantID.String(), Sid: sid, Cid: cid, AMR: c.AMR,
	})
	if err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	buf := make([]byte, 0, len(k.header)+1+b64.EncodedLen(len(payload))+1+b64.EncodedLen(512))
	buf = append(buf, k.header...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	sig, err := k.method.Sign(string(buf), k.signer)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

// Verify checks tok and returns its claims. It checks the signature with the
// key named by the kid header (which must be trusted now), requires the
// header's alg to equal that key's algorithm, and checks iss, aud, exp, nbf
// and iat with Options.Leeway. Failures match ErrInvalid and say nothing
// about the token.
//
// Successful verifications are cached by SHA-256 of tok until its exp; a hit
// still checks exp and the key's trust against the clock. The returned
// Claims are shared with the cache: treat them as read-only.
func (s *Service) Verify(ctx context.Context, tok string) (*Claims, error) {
	if len(tok) == 0 || len(tok) > MaxTokenBytes {
		return nil, ErrMalformed
	}
	// Hash the string in place: Sum256 only reads it, and copying it would
	// cost an allocation and a fifth of the cached path.
	h := sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))
	now := s.opts.Now().UnixNano()
	if e, ok := s.cache.GetIfPresent(h); ok {
		if now < e.exp && e.key.trusted(now) {
			return &e.claims, nil
		}
		s.cache.Invalidate(h)
	}
	return s.verifyAndCache(ctx, tok, h, now)
}

// verifyAndCache is the cache-miss path of Verify.
func (s *Service) verifyAndCache(ctx context.Context, tok string, h [sha256.Size]byte, now int64) (*Claims, error) {
	e, err := s.verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	if now < e.exp {
		s.cache.Set(h, e)
	}
	return &e.claims, nil
}

// parsedClaims is what the parser decodes the payload into.
type parsedClaims struct {
	jwt.RegisteredClaims
	Tid string   `json:"tid"`
	Sid string   `json:"sid"`
	Cid string   `json:"client_id"`
	AMR []string `json:"amr"`
}

// verify is Verify without the cache.
func (s *Service) verify(ctx context.Context, tok string) (*cacheEntry, error) {
	var key *verifyKey
	var pc parsedClaims
	_, err := s.parser.ParseWithClaims(tok, &pc, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, ErrMalformed // no extensions are understood, so none may be critical
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, ErrUnknownKey
		}
		k := s.ring.lookup(ctx, kid)
		if k == nil {
			return nil, ErrUnknownKey
		}
		// Strict: the alg must be the key's own. This is what defeats
		// "none" and HS256-with-the-public-key, whatever the library does.
		if t.Method == nil || t.Method.Alg() != k.alg {
			return nil, ErrAlgorithm
		}
		key = k
		return k.public, nil
	})
	if err != nil {
		return nil, mapError(err)
	}
	c, err := s.claims(&pc)
	if err != nil {
		return nil, err
	}
	c.KeyID = key.kid
	return &cacheEntry{claims: c, exp: c.ExpiresAt.UnixNano(), key: key}, nil
}

// claims converts and sanity-checks the decoded payload. The parser has
// already checked signature, iss, aud and the times against the clock.
func (s *Service) claims(pc *parsedClaims) (Claims, error) {
	var c Claims
	if pc.IssuedAt == nil || pc.NotBefore == nil || pc.ExpiresAt == nil || pc.ID == "" {
		return c, ErrClaims
	}
	c.IssuedAt, c.NotBefore, c.ExpiresAt = pc.IssuedAt.Time, pc.NotBefore.Time, pc.ExpiresAt.Time
	if !c.ExpiresAt.After(c.IssuedAt) || c.ExpiresAt.Sub(c.IssuedAt) > s.opts.MaxLifetime || c.NotBefore.After(c.ExpiresAt) {
		return c, ErrClaims
	}
	var ok1, ok2, ok3 bool
	c.Subject, ok1 = parseUUID(pc.Subject)
	c.TenantID, ok2 = parseUUID(pc.Tid)
	if pc.Cid == "" {
		c.SessionID, ok3 = parseUUID(pc.Sid) // a user's token: its session
	} else {
		// A service account's token: client_id is the subject, no session.
		c.ClientID, ok3 = parseUUID(pc.Cid)
		ok3 = ok3 && pc.Sid == "" && c.ClientID == c.Subject
	}
	if !ok1 || !ok2 || !ok3 {
		return c, ErrClaims
	}
	c.Issuer, c.Audience, c.ID, c.AMR = pc.Issuer, s.opts.Audience, pc.ID, slices.Clip(pc.AMR)
	return c, nil
}

// parseUUID accepts only the canonical 36-character form, and not the nil UUID.
func parseUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(s)
	return id, err == nil && id != uuid.Nil
}

// mapError turns a parser error into one of ours, dropping its text (which
// may quote the token).
func mapError(err error) error {
	for _, ours := range []error{ErrUnknownKey, ErrAlgorithm, ErrMalformed} {
		if errors.Is(err, ours) {
			return ours
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm // alg missing or not a known algorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		return ErrClaims
	}
	return ErrInvalid
}

// TTL is the lifetime of the access tokens Issue makes.
func (s *Service) TTL() time.Duration { return s.opts.TTL }
