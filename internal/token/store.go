package token

import (
	"context"
	"fmt"
	"time"

	"atrium/ent"
	"atrium/ent/signingkey"
	"atrium/internal/viewer"
)

// Status is the life-cycle stage of a signing key.
type Status string

// Key statuses. A key is created as next (published in the JWKS, not yet
// signing), becomes active (signing) and ends retired (still published and
// accepted until its VerifyUntil, so tokens it signed outlive the rotation).
const (
	StatusNext    Status = "next"
	StatusActive  Status = "active"
	StatusRetired Status = "retired"
)

// StoredKey is a signing key as persisted. PrivateKeyEnc is Seal(kek, PKCS#8
// DER, kid); the plain private key is never stored. Zero times are unset.
type StoredKey struct {
	Kid           string
	Algorithm     string
	PublicKey     []byte // PKIX DER
	PrivateKeyEnc []byte
	Status        Status
	CreatedAt     time.Time
	ActivatedAt   time.Time
	RetiredAt     time.Time
	VerifyUntil   time.Time
}

// KeyStore persists signing keys for the KeyRing. Implementations must be
// safe for use by several processes at once (see Promote).
type KeyStore interface {
	// List returns every stored key, oldest first.
	List(ctx context.Context) ([]StoredKey, error)
	// Create stores a new key; ErrKeyExists if its kid is taken.
	Create(ctx context.Context, k StoredKey) error
	// Promote atomically makes key next active (activated at at) and retires
	// each key in retire (retired at at, verifiable until verifyUntil). It
	// fails with ErrConflict, changing nothing, when next is no longer in
	// status next or a key in retire is no longer active: another process
	// rotated first.
	Promote(ctx context.Context, next string, retire []string, at, verifyUntil time.Time) error
}

// EntStore is the KeyStore on the signing_keys table. Every access runs as
// the system viewer: the table's privacy policy admits nobody else.
type EntStore struct{ client *ent.Client }

var _ KeyStore = (*EntStore)(nil)

// NewEntStore returns the KeyStore backed by client.
func NewEntStore(client *ent.Client) *EntStore { return &EntStore{client: client} }

// List implements KeyStore.
func (s *EntStore) List(ctx context.Context) ([]StoredKey, error) {
	ctx = viewer.System(ctx, viewer.ReasonToken)
	rows, err := s.client.SigningKey.Query().
		Order(signingkey.ByCreatedAt(), signingkey.ByKid()).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: list signing keys: %w", err)
	}
	keys := make([]StoredKey, 0, len(rows))
	for _, r := range rows {
		k := StoredKey{
			Kid:           r.Kid,
			Algorithm:     r.Algorithm,
			PublicKey:     r.PublicKey,
			PrivateKeyEnc: r.PrivateKeyEnc,
			Status:        Status(r.Status),
			CreatedAt:     r.CreatedAt,
		}
		if r.ActivatedAt != nil {
			k.ActivatedAt = *r.ActivatedAt
		}
		if r.RetiredAt != nil {
			k.RetiredAt = *r.RetiredAt
		}
		if r.VerifyUntil != nil {
			k.VerifyUntil = *r.VerifyUntil
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Create implements KeyStore.
func (s *EntStore) Create(ctx context.Context, k StoredKey) error {
	ctx = viewer.System(ctx, viewer.ReasonToken)
	c := s.client.SigningKey.Create().
		SetKid(k.Kid).
		SetAlgorithm(k.Algorithm).
		SetPublicKey(k.PublicKey).
		SetPrivateKeyEnc(k.PrivateKeyEnc).
		SetStatus(signingkey.Status(k.Status))
	if !k.CreatedAt.IsZero() {
		c.SetCreatedAt(k.CreatedAt)
	}
	if !k.ActivatedAt.IsZero() {
		c.SetActivatedAt(k.ActivatedAt)
	}
	if err := c.Exec(ctx); err != nil {
		if ent.IsConstraintError(err) {
			return ErrKeyExists
		}
		return fmt.Errorf("token: create signing key: %w", err)
	}
	return nil
}

// Promote implements KeyStore with conditional updates in one transaction:
// of two concurrent rotations, the second finds the rows changed (or, on
// PostgreSQL, waits on the row lock and then finds them changed) and fails
// with ErrConflict.
func (s *EntStore) Promote(ctx context.Context, next string, retire []string, at, verifyUntil time.Time) (err error) {
	ctx = viewer.System(ctx, viewer.ReasonToken)
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("token: rotate signing keys: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if len(retire) > 0 {
		n, err := tx.SigningKey.Update().
			Where(signingkey.KidIn(retire...), signingkey.StatusEQ(signingkey.StatusActive)).
			SetStatus(signingkey.StatusRetired).
			SetRetiredAt(at).
			SetVerifyUntil(verifyUntil).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("token: retire signing keys: %w", err)
		}
		if n != len(retire) {
			return ErrConflict
		}
	}
	n, err := tx.SigningKey.Update().
		Where(signingkey.KidEQ(next), signingkey.StatusEQ(signingkey.StatusNext)).
		SetStatus(signingkey.StatusActive).
		SetActivatedAt(at).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("token: activate signing key: %w", err)
	}
	if n != 1 {
		return ErrConflict
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("token: rotate signing keys: %w", err)
	}
	return nil
}
