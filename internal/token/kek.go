package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KEKSize is the size of the key-encryption key: AES-256.
const KEKSize = 32

// KEKFile is the name of the generated key-encryption key in the data dir.
const KEKFile = "kek"

// Seal encrypts plaintext under kek with AES-256-GCM and a random nonce and
// returns nonce || ciphertext || tag. aad is authenticated, not encrypted: the
// ring passes the key id, so a sealed key cannot be moved to another row.
func Seal(kek, plaintext, aad []byte) ([]byte, error) {
	gcm, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("token: nonce: %w", err)
	}
	return gcm.Seal(out, out, plaintext, aad), nil
}

// Open reverses Seal. A wrong kek, a different aad or damaged data all give
// ErrWrongKEK.
func Open(kek, sealed, aad []byte) ([]byte, error) {
	gcm, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize()+gcm.Overhead() {
		return nil, ErrWrongKEK
	}
	n := gcm.NonceSize()
	pt, err := gcm.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrWrongKEK
	}
	return pt, nil
}

func newGCM(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, ErrKEKSize
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return cipher.NewGCM(block)
}

// ResolveKEK returns the key-encryption key to use: configured when set (it
// must be 32 bytes), else the one in dataDir, generated on first use (see
// LoadOrCreateKEK). serve and `atrium keys` both call it, so they agree.
func ResolveKEK(configured []byte, dataDir string) (kek []byte, created bool, err error) {
	if len(configured) > 0 {
		if len(configured) != KEKSize {
			return nil, false, ErrKEKSize
		}
		return configured, false, nil
	}
	return LoadOrCreateKEK(dataDir)
}

// LoadOrCreateKEK reads the key-encryption key from <dataDir>/kek (base64 of
// 32 bytes), creating the directory (0700) and the file (0600) with a fresh
// random key when it does not exist. created reports that a new key was
// written; back that file up, for without it the signing keys cannot be
// decrypted. Concurrent first starts agree on one key: the file is created
// exclusively and the loser reads the winner's.
func LoadOrCreateKEK(dataDir string) (kek []byte, created bool, err error) {
	if dataDir == "" {
		return nil, false, errors.New("token: no data dir for the key-encryption key")
	}
	path := filepath.Join(dataDir, KEKFile)
	if kek, err := readKEK(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kek, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("token: create data dir: %w", err)
	}
	kek = make([]byte, KEKSize)
	if _, err := rand.Read(kek); err != nil {
		return nil, false, fmt.Errorf("token: generate key-encryption key: %w", err)
	}
	// Write to a temporary file and link it into place: the link fails if
	// another process won the race, and nobody ever reads a half-written key.
	tmp, err := os.CreateTemp(dataDir, ".kek-*")
	if err != nil {
		return nil, false, fmt.Errorf("token: write key-encryption key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("token: write key-encryption key: %w", err)
	}
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(kek) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("token: write key-encryption key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			kek, err := readKEK(path)
			return kek, false, err
		}
		return nil, false, fmt.Errorf("token: write key-encryption key: %w", err)
	}
	return kek, true, nil
}

func readKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("token: read key-encryption key: %w", err)
	}
	kek, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != KEKSize {
		return nil, fmt.Errorf("token: %s: want base64 of exactly %d bytes", path, KEKSize)
	}
	return kek, nil
}
