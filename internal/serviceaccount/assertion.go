package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"atrium/ent"
	entsa "atrium/ent/serviceaccount"
	"atrium/ent/serviceaccountassertion"
	"atrium/ent/serviceaccountkey"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/token"
	"atrium/internal/viewer"
)

// Assertion rules (RFC 7523 section 3).
const (
	// MaxAssertionLifetime bounds exp - iat of an assertion.
	MaxAssertionLifetime = 5 * time.Minute
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// MaxAssertionBytes is the longest assertion looked at.
	MaxAssertionBytes = 8 << 10
	maxJTI            = 256
)

// PublicKey is a parsed public key of a service account.
type PublicKey struct {
	Alg string // RS256, ES256 or EdDSA
	// Kid is the kid its assertions name: the JWK's own kid if it had one,
	// else the thumbprint.
	Kid string
	// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url): the
	// same whether the key came as PEM or as a JWK.
	Thumbprint string
	PEM        string // the canonical PEM "PUBLIC KEY", which is what is stored
	Key        crypto.PublicKey
}

// ParsePublicKey reads a public key given as a PEM "PUBLIC KEY"
// (SubjectPublicKeyInfo) or, when s is a JSON object, as a JWK (ParseJWK):
// RSA of 2048 to 8192 bits (RS256), ECDSA P-256 (ES256) or Ed25519 (EdDSA).
func ParsePublicKey(s string) (*PublicKey, error) {
	if IsJWK(s) {
		return ParseJWK(s)
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil || block.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New(`one PEM block of type "PUBLIC KEY" (SubjectPublicKeyInfo) or one public JWK is required; never send a private key`)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a readable public key")
	}
	return fromKey(key)
}

// fromKey checks a parsed key and describes it; the kid is its thumbprint.
func fromKey(key crypto.PublicKey) (*PublicKey, error) {
	out := &PublicKey{Key: key}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 8192 {
			return nil, errors.New("RSA keys must have 2048 to 8192 bits")
		}
		out.Alg = "RS256"
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA keys must be on P-256 (ES256)")
		}
		out.Alg = "ES256"
	case ed25519.PublicKey:
		out.Alg = "EdDSA"
	default:
		return nil, errors.New("unsupported key type: use RSA (RS256), ECDSA P-256 (ES256) or Ed25519 (EdDSA)")
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, errors.New("not a readable public key")
	}
	if out.Thumbprint, err = Thumbprint(key); err != nil {
		return nil, errors.New("not a readable public key")
	}
	out.Kid = out.Thumbprint
	out.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return out, nil
}

// Issued is the result of a successful assertion.
type Issued struct {
	AccessToken      string
	ExpiresIn        time.Duration
	ServiceAccountID uuid.UUID
	TenantID         uuid.UUID
}

// refusal is why an assertion was refused (the audit detail), inside the
// parser's key function.
type refusal string

func (r refusal) Error() string { return "assertion refused: " + string(r) }

// errAssertion is the one answer to every refused assertion whose signature
// was not shown to be the account's: which check failed is audited and
// logged, never told to such a caller.
var errAssertion = fault.New(fault.Unauthenticated, "the assertion is not valid")

// Refusal is the error of a refused assertion. It is a fault.Unauthenticated
// error with a message safe for anyone; Reason names the check that failed
// (the audit detail), and Verified is true when the signature verified under
// a key of the account, so that the caller holds its private key and may be
// told the reason (Described).
type Refusal struct {
	Reason   string
	Verified bool
}

func (r *Refusal) Error() string { return "assertion refused: " + r.Reason }

// Unwrap makes a Refusal the uniform fault.Unauthenticated error.
func (r *Refusal) Unwrap() error { return errAssertion }

// verifiedReasons are the checks made after the signature verified: telling
// them helps the key's holder and tells an attacker nothing.
var verifiedReasons = map[string]string{
	"expired":       "the assertion has expired",
	"not_yet_valid": "the assertion is not valid yet (nbf or iat in the future)",
	"audience":      "the assertion's aud is not this token endpoint",
	"lifetime":      "the assertion's exp is more than 5 minutes after its iat",
	"claims":        "the assertion lacks a required claim (exp, iat, jti) or has a malformed one",
	"replay":        "the assertion's jti was already used",
	"disabled":      "the service account is disabled",
}

// Described is what the caller may be told of the refusal.
func (r *Refusal) Described() string {
	if d, ok := verifiedReasons[r.Reason]; ok && r.Verified {
		return d
	}
	return errAssertion.Message
}

type assertionClaims struct {
	jwt.RegisteredClaims
}

// Token exchanges a JWT assertion for an access token of the service
// account it names. The assertion must be signed (RS256, ES256 or EdDSA,
// the alg of the key named by its kid header) by an active key of the
// account; iss and sub are the account's id, aud the token endpoint, exp at
// most 5 minutes after iat, and jti unused; clientID, if not empty, must be
// the account's id. Refusals of a known account are
// audited in its tenant's chain; others are only logged.
func (s *Service) Token(ctx context.Context, assertion, clientID string) (*Issued, error) {
	if len(assertion) == 0 || len(assertion) > MaxAssertionBytes {
		return nil, s.refuse(ctx, nil, "", "malformed", false)
	}
	var sa *ent.ServiceAccount
	var key *ent.ServiceAccountKey
	parser := jwt.NewParser(
		jwt.WithAudience(s.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	var claims assertionClaims
	var lookupErr error // the database failed: not the caller's fault
	_, err := parser.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, refusal("malformed")
		}
		id, err := uuid.Parse(claims.Subject)
		if err != nil || len(claims.Subject) != 36 || claims.Issuer != claims.Subject {
			return nil, refusal("claims")
		}
		snap, err := s.snapshotOf(ctx, id, viewer.ReasonToken)
		if errors.Is(err, errNoAccount) {
			return nil, refusal("unknown_service_account")
		}
		if err != nil {
			lookupErr = err
			return nil, err
		}
		sa = snap.sa
		if clientID != "" && clientID != claims.Subject {
			// RFC 7521 section 4.2: a client_id must name the assertion's subject.
			return nil, refusal("client_id")
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" || len(kid) > 64 {
			return nil, refusal("unknown_key")
		}
		k, ok := snap.keys[kid]
		if !ok {
			return nil, refusal("unknown_key")
		}
		key = k.row
		switch {
		case k.row.RevokedAt != nil:
			return nil, refusal("key_revoked")
		case k.row.ExpiresAt != nil && !k.row.ExpiresAt.After(s.now()):
			return nil, refusal("key_expired")
		}
		// Strict: the alg must be the key's own. This is what defeats
		// "none" and HS256 with the public key as the secret.
		if t.Method == nil || t.Method.Alg() != string(k.row.Alg) {
			return nil, refusal("algorithm")
		}
		if k.pub == nil {
			return nil, refusal("unknown_key")
		}
		return k.pub.Key, nil
	})
	kid := ""
	if key != nil {
		kid = key.Kid
	}
	if lookupErr != nil {
		return nil, fault.Classify(lookupErr)
	}
	if err != nil {
		// The claims are validated only after the signature verified.
		var r refusal
		verified := errors.Is(err, jwt.ErrTokenInvalidClaims) && !errors.As(err, &r)
		return nil, s.refuse(ctx, sa, kid, reasonOf(err), verified)
	}
	// The parser checked signature, aud, exp, nbf and iat against the clock.
	switch {
	case claims.IssuedAt == nil:
		return nil, s.refuse(ctx, sa, kid, "claims", true)
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > MaxAssertionLifetime:
		return nil, s.refuse(ctx, sa, kid, "lifetime", true)
	case claims.ID == "" || len(claims.ID) > maxJTI:
		return nil, s.refuse(ctx, sa, kid, "claims", true)
	case sa.DisabledAt != nil:
		return nil, s.refuse(ctx, sa, kid, "disabled", true)
	}
	tctx := viewer.SystemForTenant(ctx, sa.TenantID, viewer.ReasonToken)
	now := s.now()
	replay, stale := false, false
	err = s.audit.Change(tctx, func(tx *ent.Tx) (audit.Event, error) {
		// Remember the jti until the assertion expires; a second use finds it.
		if _, err := tx.ServiceAccountAssertion.Delete().Where(serviceaccountassertion.ExpiresAtLT(now)).Exec(tctx); err != nil {
			return audit.Event{}, err
		}
		h := sha256.Sum256([]byte(sa.ID.String() + "\x00" + claims.ID))
		err := tx.ServiceAccountAssertion.Create().SetID(hex.EncodeToString(h[:])).
			SetExpiresAt(claims.ExpiresAt.Add(Leeway)).Exec(tctx)
		if ent.IsConstraintError(err) {
			replay = true
			return audit.Event{}, refusal("replay")
		}
		if err != nil {
			return audit.Event{}, err
		}
		// The account and key were read from the cache, which every
		// instance drops when they change. This write, which is made anyway,
		// makes the check exact: it touches the key only if it is still
		// unrevoked and unexpired and its account still exists and is
		// enabled.
		n, err := tx.ServiceAccountKey.Update().Where(serviceaccountkey.ID(key.ID), serviceaccountkey.RevokedAtIsNil(),
			serviceaccountkey.Or(serviceaccountkey.ExpiresAtIsNil(), serviceaccountkey.ExpiresAtGT(now)),
			serviceaccountkey.HasServiceAccountWith(entsa.DisabledAtIsNil())).SetLastUsedAt(now).Save(tctx)
		if err != nil {
			return audit.Event{}, err
		}
		if n == 0 {
			stale = true
			return audit.Event{}, refusal("stale")
		}
		return audit.Event{Action: ActionTokenIssued, ResourceType: "service_account", ResourceID: sa.ID,
			Actor: sa.ID, Details: map[string]string{"kid": key.Kid}}, nil
	})
	if replay {
		return nil, s.refuse(ctx, sa, kid, "replay", true)
	}
	if stale {
		return nil, s.refuseStale(ctx, sa, kid)
	}
	if err != nil {
		return nil, fault.Classify(err)
	}
	tok, err := s.tokens.Issue(ctx, token.Claims{Subject: sa.ID, TenantID: sa.TenantID, ClientID: sa.ID, AMR: []string{"pop"}})
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "internal error")
	}
	return &Issued{AccessToken: tok, ExpiresIn: s.tokens.TTL(), ServiceAccountID: sa.ID, TenantID: sa.TenantID}, nil
}

// refuse records a refused assertion and returns its *Refusal. A known
// account's refusal goes to its tenant's chain; an unknown identifier only
// to the log (anybody can make one up).
func (s *Service) refuse(ctx context.Context, sa *ent.ServiceAccount, kid string, reason string, verified bool) error {
	if sa == nil {
		s.log.InfoContext(ctx, "service account assertion refused", "reason", reason)
		return &Refusal{Reason: reason}
	}
	d := map[string]string{"reason": reason}
	if kid != "" {
		d["kid"] = kid
	}
	s.audit.Log(viewer.SystemForTenant(ctx, sa.TenantID, viewer.ReasonToken), audit.Event{Action: ActionTokenRefused,
		Outcome: audit.Denied, ResourceType: "service_account", ResourceID: sa.ID, TenantID: sa.TenantID, Actor: sa.ID, Details: d})
	return &Refusal{Reason: reason, Verified: verified}
}

// refuseStale refuses an assertion whose account or key changed after the
// cached copy this instance checked it against (the bus had not told it
// yet): it drops that copy, reads them again and refuses with the reason
// they now give.
func (s *Service) refuseStale(ctx context.Context, sa *ent.ServiceAccount, kid string) error {
	if s.cache != nil {
		s.cache.gen.Add(1)
		s.cache.c.Invalidate(sa.ID)
	}
	snap, err := s.snapshotOf(ctx, sa.ID, viewer.ReasonToken)
	switch {
	case errors.Is(err, errNoAccount):
		return s.refuse(ctx, nil, kid, "unknown_service_account", false)
	case err != nil:
		return fault.Classify(err)
	case snap.sa.DisabledAt != nil:
		return s.refuse(ctx, snap.sa, kid, "disabled", true)
	}
	if k, ok := snap.keys[kid]; ok && k.row.RevokedAt == nil && k.row.ExpiresAt != nil {
		return s.refuse(ctx, snap.sa, kid, "key_expired", false)
	}
	return s.refuse(ctx, snap.sa, kid, "key_revoked", false)
}

// reasonOf maps a parser error to a refusal reason.
func reasonOf(err error) string {
	var r refusal
	switch {
	case errors.As(err, &r):
		return string(r)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "algorithm"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not_yet_valid"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		return "claims"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "invalid"
}
