package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// Signing algorithms (JWS "alg" values).
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys; the default
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// rsaBits is the size of generated RSA keys.
const rsaBits = 2048

var b64 = base64.RawURLEncoding

// signingMethod maps an algorithm to its golang-jwt implementation; only the
// three asymmetric algorithms exist here, so "none" and HMAC cannot be chosen.
func signingMethod(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case RS256:
		return jwt.SigningMethodRS256, nil
	case ES256:
		return jwt.SigningMethodES256, nil
	case EdDSA:
		return jwt.SigningMethodEdDSA, nil
	}
	return nil, ErrUnsupportedAlgorithm
}

// generateKey makes a fresh private key for alg.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, ErrUnsupportedAlgorithm
}

// parsePublicKey decodes a PKIX DER public key and checks that its type fits
// alg, so a row can never pair, say, an RSA key with "HS256" or "ES256".
func parsePublicKey(alg string, der []byte) (crypto.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: parse public key: %w", err)
	}
	if err := checkKeyType(alg, pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// parsePrivateKey decodes PKCS#8 DER and checks it fits alg and pub.
func parsePrivateKey(alg string, der []byte, pub crypto.PublicKey) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("token: parse private key: not PKCS#8")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("token: parse private key: not a signing key")
	}
	if err := checkKeyType(alg, s.Public()); err != nil {
		return nil, err
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := s.Public().(equaler); !ok || !e.Equal(pub) {
		return nil, errors.New("token: private key does not match its public key")
	}
	return s, nil
}

func checkKeyType(alg string, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg == RS256 && k.N.BitLen() >= rsaBits {
			return nil
		}
	case *ecdsa.PublicKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return nil
		}
	case ed25519.PublicKey:
		if alg == EdDSA {
			return nil
		}
	}
	return fmt.Errorf("token: key type %T does not fit algorithm %q", pub, alg)
}

// jwk is one RFC 7517 JSON Web Key (public members only).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// publicJWK describes pub as a JWK without kid, alg and use.
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		pt, err := k.Bytes() // 0x04 || X || Y, fixed-size coordinates
		if err != nil || len(pt) != 65 {
			return jwk{}, errors.New("token: bad P-256 public key")
		}
		return jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(pt[1:33]), Y: b64.EncodeToString(pt[33:])}, nil
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, nil
	}
	return jwk{}, fmt.Errorf("token: unsupported public key %T", pub)
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url), used as kid:
// anyone holding the JWKS can recompute it, and two keys never share one.
func thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// Members in lexicographic order, no whitespace; base64url values need no
	// escaping, so building the string by hand is exact.
	var buf bytes.Buffer
	switch j.Kty {
	case "RSA":
		fmt.Fprintf(&buf, `{"e":"%s","kty":"RSA","n":"%s"}`, j.E, j.N)
	case "EC":
		fmt.Fprintf(&buf, `{"crv":"%s","kty":"EC","x":"%s","y":"%s"}`, j.Crv, j.X, j.Y)
	case "OKP":
		fmt.Fprintf(&buf, `{"crv":"%s","kty":"OKP","x":"%s"}`, j.Crv, j.X)
	}
	sum := sha256.Sum256(buf.Bytes())
	return b64.EncodeToString(sum[:]), nil
}

// newStoredKey generates a key for alg and seals its private half under kek.
func newStoredKey(alg string, kek []byte, status Status) (StoredKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return StoredKey{}, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return StoredKey{}, fmt.Errorf("token: encode public key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return StoredKey{}, fmt.Errorf("token: encode private key: %w", err)
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return StoredKey{}, err
	}
	enc, err := Seal(kek, privDER, sealAAD(kid))
	clear(privDER)
	if err != nil {
		return StoredKey{}, err
	}
	return StoredKey{Kid: kid, Algorithm: alg, PublicKey: pubDER, PrivateKeyEnc: enc, Status: status}, nil
}

// sealAAD binds a sealed private key to its kid.
func sealAAD(kid string) []byte { return []byte("atrium signing key " + kid) }

// jwksJSON renders keys as an RFC 7517 JWK Set.
func jwksJSON(keys []*verifyKey) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk)
	}
	b, err := json.Marshal(set)
	if err != nil { // cannot happen: plain strings only
		panic(err)
	}
	return b
}
