// Package page is cursor pagination over UUIDv7 ids: ids grow with time, so
// "newest first" is "id descending" and a cursor is the last id of a page.
package page

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"atrium/internal/fault"
)

// Limits.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Page is one page of a list, with the cursor of the next page ("" at the end).
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// List fetches one page: fetch gets the id to continue after (uuid.Nil for
// the first page) and how many rows to read (one more than the page, to know
// whether another page follows).
func List[T any](cursor string, limit int, fetch func(after uuid.UUID, n int) ([]T, error), id func(T) uuid.UUID) (Page[T], error) {
	limit, after, err := Args(cursor, limit)
	if err != nil {
		return Page[T]{}, err
	}
	items, err := fetch(after, limit+1)
	if err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = EncodeCursor(id(items[limit-1]))
	}
	return p, nil
}

// Args validates a cursor and a limit (0 = DefaultLimit).
func Args(cursor string, limit int) (int, uuid.UUID, error) {
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return 0, uuid.Nil, fault.Fields(fault.FieldError{Field: "limit", Message: fmt.Sprintf("between 1 and %d", MaxLimit)})
	}
	if cursor == "" {
		return limit, uuid.Nil, nil
	}
	id, err := DecodeCursor(cursor)
	if err != nil {
		return 0, uuid.Nil, fault.Fields(fault.FieldError{Field: "cursor", Message: "not a cursor from this API"})
	}
	return limit, id, nil
}

// EncodeCursor makes an opaque cursor pointing after id.
func EncodeCursor(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// DecodeCursor reverses EncodeCursor.
func DecodeCursor(s string) (uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return uuid.Nil, errors.New("bad cursor")
	}
	return uuid.FromBytes(b)
}
