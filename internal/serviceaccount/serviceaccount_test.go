package serviceaccount

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/authz"
)

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for alg, pub := range map[string]any{"RS256": &rk.PublicKey, "ES256": &ek.PublicKey, "EdDSA": edPub} {
		k, err := ParsePublicKey("\n" + pemOf(t, pub) + "\n")
		require.NoError(t, err, alg)
		require.Equal(t, alg, k.Alg)
		require.Len(t, k.Kid, 43)
		again, err := ParsePublicKey(k.PEM)
		require.NoError(t, err)
		require.Equal(t, k.Kid, again.Kid, "the kid is the key's, whatever its PEM spacing")
	}
	t.Run("Err", func(t *testing.T) {
		t.Parallel()
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		require.NoError(t, err)
		p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		p8, err := x509.MarshalPKCS8PrivateKey(ek)
		require.NoError(t, err)
		for name, in := range map[string]string{
			"Empty":      "",
			"Garbage":    "not a key",
			"PrivateKey": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
			"SmallRSA":   pemOf(t, &small.PublicKey),
			"P384":       pemOf(t, &p384.PublicKey),
			"TwoBlocks":  pemOf(t, &ek.PublicKey) + pemOf(t, &ek.PublicKey),
			"BadDER":     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nope")})),
		} {
			_, err := ParsePublicKey(in)
			require.Error(t, err, name)
		}
	})
}

func TestEffective(t *testing.T) {
	t.Parallel()
	all := Effective([]string{"*"}, false)
	require.NotContains(t, all, authz.AccountManage)
	for _, p := range authz.Administrative {
		require.NotContains(t, all, p, "withheld without the explicit grant")
	}
	require.Contains(t, all, authz.AuditRead)
	granted := Effective([]string{"*"}, true)
	require.Contains(t, granted, authz.MemberManage)
	require.NotContains(t, granted, authz.AccountManage, "never: it has no devices or sessions")
	require.Equal(t, []string{authz.DocumentRead}, Effective([]string{authz.DocumentRead, "unknown.perm"}, false))
	require.Empty(t, Effective(nil, true))
}

// jwkOf is the public JWK of pub, as a service's tooling would write it.
func jwkOf(t *testing.T, pub any, extra map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	var m map[string]any
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m = map[string]any{"kty": "RSA", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		require.NoError(t, err)
		m = map[string]any{"kty": "EC", "crv": "P-256", "x": enc(b[1:33]), "y": enc(b[33:])}
	case ed25519.PublicKey:
		m = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(k)}
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func TestParseJWK(t *testing.T) {
	t.Parallel()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for alg, pub := range map[string]any{"RS256": &rk.PublicKey, "ES256": &ek.PublicKey, "EdDSA": edPub} {
			fromJWK, err := ParsePublicKey(jwkOf(t, pub, map[string]any{"alg": alg, "use": "sig", "ext": true}))
			require.NoError(t, err, alg)
			require.Equal(t, alg, fromJWK.Alg)
			fromPEM, err := ParsePublicKey(pemOf(t, pub))
			require.NoError(t, err, alg)
			require.Equal(t, fromPEM.Thumbprint, fromJWK.Thumbprint, "one key, one thumbprint, whatever its form")
			require.Equal(t, fromPEM.Kid, fromJWK.Kid, "the default kid is the thumbprint")
			require.Equal(t, fromPEM.Thumbprint, fromPEM.Kid)
			require.Equal(t, fromPEM.PEM, fromJWK.PEM, "stored the same way")
		}
		withKid, err := ParsePublicKey(jwkOf(t, edPub, map[string]any{"kid": "svc-2026-12"}))
		require.NoError(t, err)
		require.Equal(t, "svc-2026-12", withKid.Kid, "a JWK's own kid is kept")
		require.NotEqual(t, withKid.Kid, withKid.Thumbprint)
		fully, err := ParsePublicKey(jwkOf(t, edPub, map[string]any{"alg": "Ed25519"}))
		require.NoError(t, err, "the fully-specified alg name of RFC 9864")
		require.Equal(t, "EdDSA", fully.Alg)
	})
	t.Run("RFC7638Vectors", func(t *testing.T) {
		t.Parallel()
		// RFC 7638 section 3.1.
		k, err := ParseJWK(`{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`)
		require.NoError(t, err)
		require.Equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", k.Thumbprint)
		require.Equal(t, "2011-04-29", k.Kid)
		// RFC 8037 appendix A.3.
		k, err = ParseJWK(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)
		require.NoError(t, err)
		require.Equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", k.Thumbprint)
	})
	t.Run("Err", func(t *testing.T) {
		t.Parallel()
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		require.NoError(t, err)
		p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		enc := base64.RawURLEncoding.EncodeToString
		b, err := p384.PublicKey.Bytes()
		require.NoError(t, err)
		ecD, err := ek.Bytes()
		require.NoError(t, err)
		offCurve := jwkOf(t, &ek.PublicKey, map[string]any{"y": enc(make([]byte, 32))})
		for name, in := range map[string]string{
			"PrivateRSA_d":   jwkOf(t, &rk.PublicKey, map[string]any{"d": enc(rk.D.Bytes())}),
			"PrivateRSA_p":   jwkOf(t, &rk.PublicKey, map[string]any{"p": enc(rk.Primes[0].Bytes())}),
			"PrivateRSA_q":   jwkOf(t, &rk.PublicKey, map[string]any{"q": "AQAB"}),
			"PrivateRSA_dp":  jwkOf(t, &rk.PublicKey, map[string]any{"dp": "AQAB"}),
			"PrivateRSA_dq":  jwkOf(t, &rk.PublicKey, map[string]any{"dq": "AQAB"}),
			"PrivateRSA_qi":  jwkOf(t, &rk.PublicKey, map[string]any{"qi": "AQAB"}),
			"PrivateEC":      jwkOf(t, &ek.PublicKey, map[string]any{"d": enc(ecD)}),
			"PrivateOKP":     jwkOf(t, edPub, map[string]any{"d": enc(edPriv.Seed())}),
			"Symmetric":      `{"kty":"oct","k":"c2VjcmV0"}`,
			"WeakRSA":        jwkOf(t, &small.PublicKey, nil),
			"AlgMismatch":    jwkOf(t, &rk.PublicKey, map[string]any{"alg": "ES256"}),
			"AlgHS256":       jwkOf(t, &ek.PublicKey, map[string]any{"alg": "HS256"}),
			"AlgPS256":       jwkOf(t, &rk.PublicKey, map[string]any{"alg": "PS256"}),
			"UseEnc":         jwkOf(t, &ek.PublicKey, map[string]any{"use": "enc"}),
			"UnknownKty":     `{"kty":"XYZ","x":"AA"}`,
			"NoKty":          jwkOf(t, edPub, map[string]any{"kty": nil}),
			"P384":           `{"kty":"EC","crv":"P-384","x":"` + enc(b[1:49]) + `","y":"` + enc(b[49:]) + `"}`,
			"X25519":         jwkOf(t, edPub, map[string]any{"crv": "X25519"}),
			"Ed448":          jwkOf(t, edPub, map[string]any{"crv": "Ed448"}),
			"OffCurve":       offCurve,
			"ShortX":         jwkOf(t, edPub, map[string]any{"x": enc([]byte{1, 2, 3})}),
			"PaddedBase64":   jwkOf(t, edPub, map[string]any{"x": base64.URLEncoding.EncodeToString(edPub[:31])}),
			"EvenExponent":   jwkOf(t, &rk.PublicKey, map[string]any{"e": "Ag"}),
			"NotJSON":        `{"kty":`,
			"TwoObjects":     jwkOf(t, edPub, nil) + jwkOf(t, edPub, nil),
			"NumberN":        `{"kty":"RSA","n":12,"e":"AQAB"}`,
			"BadKid":         jwkOf(t, edPub, map[string]any{"kid": "has space"}),
			"LongKid":        jwkOf(t, edPub, map[string]any{"kid": strings.Repeat("k", 65)}),
			"RSAWithCurve":   jwkOf(t, &rk.PublicKey, map[string]any{"crv": "P-256"}),
			"ECWithoutY":     jwkOf(t, &ek.PublicKey, map[string]any{"y": nil}),
			"LeadingZeroN":   jwkOf(t, &rk.PublicKey, map[string]any{"n": enc(append([]byte{0}, rk.N.Bytes()...))}),
			"OKPWithY":       jwkOf(t, edPub, map[string]any{"y": "AA"}),
			"ArrayInsteadOf": `[` + jwkOf(t, edPub, nil) + `]`,
		} {
			_, err := ParsePublicKey(in)
			require.Error(t, err, name)
		}
		_, err = ParsePublicKey(jwkOf(t, &rk.PublicKey, map[string]any{"d": enc(rk.D.Bytes())}))
		require.ErrorContains(t, err, "private key", "the answer says why")
	})
}
