package serviceaccount

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// jwk holds the members of an RFC 7517 JSON Web Key that are looked at.
// Unknown members are ignored (RFC 7517 section 4), except the private ones,
// which are refused.
type jwk struct {
	Kty string  `json:"kty"`
	Alg string  `json:"alg"`
	Use string  `json:"use"`
	Kid *string `json:"kid"`
	Crv string  `json:"crv"`
	N   string  `json:"n"`
	E   string  `json:"e"`
	X   string  `json:"x"`
	Y   string  `json:"y"`
}

// privateMembers are the JWK members of a private key (RFC 7518 sections
// 6.2.2 and 6.3.2, RFC 8037 section 2): their presence means the caller
// sent a secret Atrium must never hold.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// maxKid bounds a kid (the column holds 64 characters).
const maxKid = 64

// IsJWK reports whether s looks like a JSON Web Key rather than PEM.
func IsJWK(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "{") }

// ParseJWK reads a public JSON Web Key (RFC 7517): kty RSA (RS256, 2048 to
// 8192 bits), EC with crv P-256 (ES256) or OKP with crv Ed25519 (EdDSA). A
// private key (any of d, p, q, dp, dq, qi, oth, or a symmetric k), an alg
// that is not the key's, a use other than sig, and any other kty or crv are
// refused. A kid member, if any, is returned as the key's kid; otherwise the
// kid is the RFC 7638 thumbprint.
func ParseJWK(s string) (*PublicKey, error) {
	raw := map[string]json.RawMessage{}
	dec := json.NewDecoder(strings.NewReader(strings.TrimSpace(s)))
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, errors.New("not a JSON Web Key: one JSON object is required")
	}
	for _, m := range privateMembers {
		if _, ok := raw[m]; ok {
			return nil, errors.New("this JWK holds a private key (member " + m + "): register only the public key, never the private one")
		}
	}
	var j jwk
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &j); err != nil {
		return nil, errors.New("not a JSON Web Key: kty, crv, n, e, x, y, alg, use and kid must be strings")
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, errors.New(`a service account key is for signatures: "use" must be "sig" if present`)
	}
	var key crypto.PublicKey
	var err error
	switch j.Kty {
	case "RSA":
		key, err = rsaJWK(j)
	case "EC":
		key, err = ecJWK(j)
	case "OKP":
		key, err = okpJWK(j)
	case "":
		err = errors.New("kty is required")
	default:
		err = fmt.Errorf("unsupported kty %q: use RSA (RS256), EC P-256 (ES256) or OKP Ed25519 (EdDSA)", clip(j.Kty))
	}
	if err != nil {
		return nil, err
	}
	pk, err := fromKey(key)
	if err != nil {
		return nil, err
	}
	if j.Alg != "" && j.Alg != pk.Alg && !(pk.Alg == "EdDSA" && j.Alg == "Ed25519") {
		return nil, fmt.Errorf("alg %q does not match the key: a %s key signs with %s", clip(j.Alg), j.Kty, pk.Alg)
	}
	if j.Kid != nil {
		if err := checkKid(*j.Kid); err != nil {
			return nil, err
		}
		pk.Kid = *j.Kid
	}
	return pk, nil
}

// checkKid refuses a kid that cannot be stored or sent back plainly.
func checkKid(kid string) error {
	if kid == "" || len(kid) > maxKid {
		return fmt.Errorf("kid must have 1 to %d characters", maxKid)
	}
	for _, r := range kid {
		if r <= ' ' || r > '~' {
			return errors.New("kid must be printable ASCII without spaces")
		}
	}
	return nil
}

// clip keeps a value echoed in a message short.
func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// b64 decodes a base64url member without padding (RFC 7515 section 2).
func b64(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is required", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url without padding", name)
	}
	return b, nil
}

func rsaJWK(j jwk) (crypto.PublicKey, error) {
	n, err := b64("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := b64("e", j.E)
	if err != nil {
		return nil, err
	}
	if j.Crv != "" || j.X != "" || j.Y != "" {
		return nil, errors.New("an RSA JWK has n and e, not crv, x or y")
	}
	// RFC 7518 section 6.3.1: the minimal big-endian encoding.
	if n[0] == 0 || e[0] == 0 {
		return nil, errors.New("n and e must have no leading zero octets")
	}
	if len(e) > 4 {
		return nil, errors.New("e is too large")
	}
	ev := int(new(big.Int).SetBytes(e).Int64())
	if ev < 3 || ev%2 == 0 {
		return nil, errors.New("e must be an odd number of at least 3")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: ev}, nil
}

func ecJWK(j jwk) (crypto.PublicKey, error) {
	if j.Crv != "P-256" {
		return nil, fmt.Errorf("unsupported crv %q for kty EC: only P-256 (ES256)", clip(j.Crv))
	}
	x, err := b64("x", j.X)
	if err != nil {
		return nil, err
	}
	y, err := b64("y", j.Y)
	if err != nil {
		return nil, err
	}
	// RFC 7518 section 6.2.1.2: x and y are the full 32 octets of P-256.
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y of a P-256 key must be 32 octets each")
	}
	// The uncompressed point, parsed with its on-curve check.
	point := append(append([]byte{4}, x...), y...)
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, errors.New("x and y are not a point of P-256")
	}
	return k, nil
}

func okpJWK(j jwk) (crypto.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf("unsupported crv %q for kty OKP: only Ed25519 (EdDSA)", clip(j.Crv))
	}
	if j.Y != "" {
		return nil, errors.New("an OKP JWK has no y")
	}
	x, err := b64("x", j.X)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, errors.New("x of an Ed25519 key must be 32 octets")
	}
	return ed25519.PublicKey(x), nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of a
// public key: the same for the PEM and the JWK forms of one key.
func Thumbprint(key crypto.PublicKey) (string, error) {
	var members [][2]string // in lexicographic order of the names
	enc := base64.RawURLEncoding.EncodeToString
	switch k := key.(type) {
	case *rsa.PublicKey:
		members = [][2]string{{"e", enc(big.NewInt(int64(k.E)).Bytes())}, {"kty", "RSA"}, {"n", enc(k.N.Bytes())}}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("unsupported curve")
		}
		b, err := k.Bytes() // 0x04 || x || y, each 32 octets
		if err != nil {
			return "", err
		}
		members = [][2]string{{"crv", "P-256"}, {"kty", "EC"}, {"x", enc(b[1:33])}, {"y", enc(b[33:])}}
	case ed25519.PublicKey:
		members = [][2]string{{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", enc(k)}}
	default:
		return "", errors.New("unsupported key type")
	}
	// No whitespace, members sorted (RFC 7638 section 3.2); the values are
	// base64url or fixed names, so they need no JSON escaping.
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "%q:%q", m[0], m[1])
	}
	buf.WriteByte('}')
	sum := sha256.Sum256(buf.Bytes())
	return enc(sum[:]), nil
}
