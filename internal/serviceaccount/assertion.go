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
	"encoding/base64"
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
	Kid string // base64url SHA-256 of the DER SubjectPublicKeyInfo
	PEM string // the canonical PEM "PUBLIC KEY"
	Key crypto.PublicKey
}

// ParsePublicKey reads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo): RSA of
// 2048 to 8192 bits (RS256), ECDSA P-256 (ES256) or Ed25519 (EdDSA).
func ParsePublicKey(s string) (*PublicKey, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil || block.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New(`one PEM block of type "PUBLIC KEY" (SubjectPublicKeyInfo) is required; never send a private key`)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a readable public key")
	}
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
	sum := sha256.Sum256(der)
	out.Kid = base64.RawURLEncoding.EncodeToString(sum[:])
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

// refusal is why an assertion was refused (the audit detail).
type refusal string

func (r refusal) Error() string { return "assertion refused: " + string(r) }

// errAssertion is the one answer to every refused assertion: which check
// failed is audited and logged, never told to the caller.
var errAssertion = fault.New(fault.Unauthenticated, "the assertion is not valid")

type assertionClaims struct {
	jwt.RegisteredClaims
}

// Token exchanges a JWT assertion for an access token of the service
// account it names. The assertion must be signed (RS256, ES256 or EdDSA,
// the alg of the key named by its kid header) by an active key of the
// account; iss and sub are the account's id, aud the token endpoint, exp at
// most 5 minutes after iat, and jti unused. Refusals of a known account are
// audited in its tenant's chain; others are only logged.
func (s *Service) Token(ctx context.Context, assertion string) (*Issued, error) {
	if len(assertion) == 0 || len(assertion) > MaxAssertionBytes {
		return nil, s.refuse(ctx, nil, "", "malformed")
	}
	var sa *ent.ServiceAccount
	var key *ent.ServiceAccountKey
	sys := viewer.System(ctx, viewer.ReasonToken)
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
		found, err := s.client.ServiceAccount.Query().Where(entsa.ID(id)).Only(sys)
		if ent.IsNotFound(err) {
			return nil, refusal("unknown_service_account")
		}
		if err != nil {
			lookupErr = err
			return nil, err
		}
		sa = found
		kid, _ := t.Header["kid"].(string)
		if kid == "" || len(kid) > 64 {
			return nil, refusal("unknown_key")
		}
		k, err := s.client.ServiceAccountKey.Query().Where(serviceaccountkey.ServiceAccountID(sa.ID), serviceaccountkey.Kid(kid)).Only(sys)
		if ent.IsNotFound(err) {
			return nil, refusal("unknown_key")
		}
		if err != nil {
			lookupErr = err
			return nil, err
		}
		key = k
		switch {
		case k.RevokedAt != nil:
			return nil, refusal("key_revoked")
		case k.ExpiresAt != nil && !k.ExpiresAt.After(s.now()):
			return nil, refusal("key_expired")
		}
		// Strict: the alg must be the key's own. This is what defeats
		// "none" and HS256 with the public key as the secret.
		if t.Method == nil || t.Method.Alg() != string(k.Alg) {
			return nil, refusal("algorithm")
		}
		pk, err := ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, refusal("unknown_key")
		}
		return pk.Key, nil
	})
	kid := ""
	if key != nil {
		kid = key.Kid
	}
	if lookupErr != nil {
		return nil, fault.Classify(lookupErr)
	}
	if err != nil {
		return nil, s.refuse(ctx, sa, kid, reasonOf(err))
	}
	// The parser checked signature, aud, exp, nbf and iat against the clock.
	switch {
	case claims.IssuedAt == nil:
		return nil, s.refuse(ctx, sa, kid, "claims")
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > MaxAssertionLifetime:
		return nil, s.refuse(ctx, sa, kid, "lifetime")
	case claims.ID == "" || len(claims.ID) > maxJTI:
		return nil, s.refuse(ctx, sa, kid, "claims")
	case sa.DisabledAt != nil:
		return nil, s.refuse(ctx, sa, kid, "disabled")
	}
	tctx := viewer.SystemForTenant(ctx, sa.TenantID, viewer.ReasonToken)
	now := s.now()
	replay := false
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
		if err := tx.ServiceAccountKey.UpdateOne(key).SetLastUsedAt(now).Exec(tctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionTokenIssued, ResourceType: "service_account", ResourceID: sa.ID,
			Actor: sa.ID, Details: map[string]string{"kid": key.Kid}}, nil
	})
	if replay {
		return nil, s.refuse(ctx, sa, kid, "replay")
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

// refuse records a refused assertion and returns the uniform error. A known
// account's refusal goes to its tenant's chain; an unknown identifier only
// to the log (anybody can make one up).
func (s *Service) refuse(ctx context.Context, sa *ent.ServiceAccount, kid string, reason string) error {
	if sa == nil {
		s.log.InfoContext(ctx, "service account assertion refused", "reason", reason)
		return errAssertion
	}
	d := map[string]string{"reason": reason}
	if kid != "" {
		d["kid"] = kid
	}
	s.audit.Log(viewer.SystemForTenant(ctx, sa.TenantID, viewer.ReasonToken), audit.Event{Action: ActionTokenRefused,
		Outcome: audit.Denied, ResourceType: "service_account", ResourceID: sa.ID, TenantID: sa.TenantID, Actor: sa.ID, Details: d})
	return errAssertion
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
