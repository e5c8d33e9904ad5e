package token

import "errors"

// ErrInvalid is the class of every verification failure: errors.Is(err,
// ErrInvalid) holds for each of the more specific verification errors below,
// so callers that only need "reject with 401" test for this one.
//
// No verification error carries any part of the token: messages are fixed
// strings, safe to log.
var ErrInvalid = errors.New("token: invalid")

// Verification errors; each also matches ErrInvalid.
var (
	ErrMalformed   error = &invalidError{"token: malformed"}
	ErrUnknownKey  error = &invalidError{"token: unknown or untrusted signing key"}
	ErrAlgorithm   error = &invalidError{"token: algorithm not allowed for this key"}
	ErrSignature   error = &invalidError{"token: bad signature"}
	ErrExpired     error = &invalidError{"token: expired"}
	ErrNotYetValid error = &invalidError{"token: not yet valid"}
	ErrIssuer      error = &invalidError{"token: wrong issuer"}
	ErrAudience    error = &invalidError{"token: wrong audience"}
	ErrClaims      error = &invalidError{"token: missing or malformed claims"}
)

// Errors of issuing and key management.
var (
	// ErrNoSigningKey means the ring has no active key: EnsureActive was not
	// called, or every active key was retired without a successor.
	ErrNoSigningKey = errors.New("token: no active signing key")
	// ErrWrongKEK means a stored private key could not be decrypted: the
	// key-encryption key differs from the one the key was sealed with, or the
	// stored ciphertext is damaged.
	ErrWrongKEK = errors.New("wrong key-encryption key (ATRIUM_KEY_ENCRYPTION_KEY or <data dir>/kek) or corrupted key material")
	// ErrKEKSize means the key-encryption key is not 32 bytes.
	ErrKEKSize = errors.New("token: key-encryption key must be 32 bytes")
	// ErrKeyExists is returned by KeyStore.Create when the kid is taken.
	ErrKeyExists = errors.New("token: signing key id already exists")
	// ErrConflict is returned by KeyStore.Promote when another process changed
	// the keys first (concurrent rotation); re-read and retry if still needed.
	ErrConflict = errors.New("token: signing keys changed concurrently")
	// ErrRotateTooSoon means the next key has not been published long enough
	// for every instance and every JWKS cache to know it (see Options.PublishDelay).
	ErrRotateTooSoon = errors.New("token: next key not published long enough to start signing")
	// ErrUnsupportedAlgorithm names an algorithm other than RS256, ES256, EdDSA.
	ErrUnsupportedAlgorithm = errors.New("token: unsupported signing algorithm (want RS256, ES256 or EdDSA)")
)

// invalidError is a verification failure; it matches ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

// Is makes every verification error match ErrInvalid.
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }
