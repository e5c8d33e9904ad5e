package serviceaccount

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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
