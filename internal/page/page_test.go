package page_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/testkit"
)

// rows is a table of ids, newest first, that fetch reads as the services'
// queries do: ids below after, at most n.
type rows []uuid.UUID

func newRows(n int) rows {
	r := make(rows, n)
	for i := range r {
		r[n-1-i] = uuid.Must(uuid.NewV7())
	}
	return r
}

func (r rows) fetch(after uuid.UUID, n int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	for _, id := range r {
		if (after == uuid.Nil || id.String() < after.String()) && len(out) < n {
			out = append(out, id)
		}
	}
	return out, nil
}

func self(id uuid.UUID) uuid.UUID { return id }

// refused is a fetch for a List that must refuse its arguments first.
func refused(t *testing.T) func(uuid.UUID, int) ([]uuid.UUID, error) {
	return func(uuid.UUID, int) ([]uuid.UUID, error) {
		t.Fatal("fetched with refused arguments")
		return nil, nil
	}
}

func TestList(t *testing.T) {
	t.Parallel()

	t.Run("OKCursorRoundTrip", func(t *testing.T) {
		t.Parallel()
		all := newRows(7)
		var got []uuid.UUID
		cursor, pages := "", 0
		for {
			p, err := page.List(cursor, 3, all.fetch, self)
			require.NoError(t, err)
			require.LessOrEqual(t, len(p.Items), 3)
			got = append(got, p.Items...)
			pages++
			if cursor = p.NextCursor; cursor == "" {
				break
			}
			require.Less(t, pages, 10, "the cursor does not advance")
		}
		require.Equal(t, 3, pages)
		require.Equal(t, []uuid.UUID(all), got, "every row once, in order")
	})

	t.Run("OKExactPageHasNoNextCursor", func(t *testing.T) {
		t.Parallel()
		all := newRows(3)
		p, err := page.List("", 3, all.fetch, self)
		require.NoError(t, err)
		require.Len(t, p.Items, 3)
		require.Empty(t, p.NextCursor, "no page follows a full last page")
	})

	t.Run("OKDefaultLimit", func(t *testing.T) {
		t.Parallel()
		var asked int
		_, err := page.List("", 0, func(_ uuid.UUID, n int) ([]uuid.UUID, error) {
			asked = n
			return nil, nil
		}, self)
		require.NoError(t, err)
		require.Equal(t, page.DefaultLimit+1, asked, "one more than the page, to know whether another follows")
	})

	t.Run("OKLimitBounds", func(t *testing.T) {
		t.Parallel()
		all := newRows(page.MaxLimit + 5)
		p, err := page.List("", page.MaxLimit, all.fetch, self)
		require.NoError(t, err)
		require.Len(t, p.Items, page.MaxLimit)
		p, err = page.List("", 1, all.fetch, self)
		require.NoError(t, err)
		require.Len(t, p.Items, 1)
		require.NotEmpty(t, p.NextCursor)
	})

	t.Run("ErrLimit", func(t *testing.T) {
		t.Parallel()
		for _, limit := range []int{-1, page.MaxLimit + 1} {
			_, err := page.List("", limit, refused(t), self)
			testkit.RequireField(t, err, "limit")
		}
	})

	t.Run("ErrMalformedCursor", func(t *testing.T) {
		t.Parallel()
		short := page.EncodeCursor(uuid.New())[:10]
		for _, c := range []string{"not a cursor!", "====", short, page.EncodeCursor(uuid.New()) + "AAAA", uuid.NewString()} {
			_, err := page.List(c, 10, refused(t), self)
			testkit.RequireField(t, err, "cursor")
		}
	})

	t.Run("ErrFetchPassedThrough", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		p, err := page.List("", 10, func(uuid.UUID, int) ([]uuid.UUID, error) { return nil, boom }, self)
		require.ErrorIs(t, err, boom)
		require.Empty(t, p.Items)
	})
}

func TestCursor(t *testing.T) {
	t.Parallel()
	id := uuid.Must(uuid.NewV7())
	c := page.EncodeCursor(id)
	got, err := page.DecodeCursor(c)
	require.NoError(t, err)
	require.Equal(t, id, got)
	limit, after, err := page.Args(c, 0)
	require.NoError(t, err)
	require.Equal(t, page.DefaultLimit, limit)
	require.Equal(t, id, after)
	require.NotContains(t, c, "=", "URL-safe, unpadded")
	require.NotContains(t, c, "/")
	_, _, err = page.Args("", -5)
	require.Equal(t, fault.Invalid, fault.CodeOf(err))
}
