package token

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	kek, plain, aad := MustKEK(t), []byte("private key material"), []byte("kid-1")
	sealed, err := Seal(kek, plain, aad)
	require.NoError(t, err)
	require.False(t, bytes.Contains(sealed, plain))
	again, err := Seal(kek, plain, aad)
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "random nonce")

	tests := []struct {
		name   string
		kek    []byte
		sealed []byte
		aad    []byte
		want   error
	}{
		{"OK", kek, sealed, aad, nil},
		{"ErrWrongKEK", MustKEK(t), sealed, aad, ErrWrongKEK},
		{"ErrWrongAAD", kek, sealed, []byte("kid-2"), ErrWrongKEK},
		{"ErrTampered", kek, append(bytes.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), aad, ErrWrongKEK},
		{"ErrTruncated", kek, sealed[:10], aad, ErrWrongKEK},
		{"ErrKEKSize", kek[:16], sealed, aad, ErrKEKSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Open(tc.kek, tc.sealed, tc.aad)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, plain, got)
		})
	}
}

func TestLoadOrCreateKEK(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "data")
		kek, created, err := LoadOrCreateKEK(dir)
		require.NoError(t, err)
		require.True(t, created)
		require.Len(t, kek, KEKSize)
		fi, err := os.Stat(filepath.Join(dir, KEKFile))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

		again, created, err := LoadOrCreateKEK(dir)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, kek, again)
	})
	t.Run("OKConcurrent", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		keks := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range keks {
			wg.Go(func() {
				k, _, err := LoadOrCreateKEK(dir)
				require.NoError(t, err)
				keks[i] = k
			})
		}
		wg.Wait()
		for _, k := range keks {
			require.Equal(t, keks[0], k)
		}
	})
	t.Run("ErrBadFile", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, KEKFile), []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600))
		_, _, err := LoadOrCreateKEK(dir)
		require.ErrorContains(t, err, "32 bytes")
	})
	t.Run("OKConfigured", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		kek := MustKEK(t)
		got, created, err := ResolveKEK(kek, dir)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, kek, got)
		require.NoFileExists(t, filepath.Join(dir, KEKFile))
		_, _, err = ResolveKEK(kek[:31], dir)
		require.ErrorIs(t, err, ErrKEKSize)
	})
}
