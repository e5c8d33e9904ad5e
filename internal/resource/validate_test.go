package resource_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
	"atrium/internal/resource"
)

func TestName(t *testing.T) {
	t.Parallel()
	p := func(s string) *string { return &s }
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		require.Empty(t, resource.Name(nil, "name", nil, 3))
		require.Empty(t, resource.Name(nil, "name", p("äöü"), 3))
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		want := []fault.FieldError{{Field: "name", Message: "1 to 3 characters"}}
		require.Equal(t, want, resource.Name(nil, "name", p(" \t"), 3))
		require.Equal(t, want, resource.Name(nil, "name", p("abcd"), 3))
	})
}

func TestText(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		empty, three := "", strings.Repeat("é", 3)
		require.Empty(t, resource.Text(nil, "description", nil, 3))
		require.Empty(t, resource.Text(nil, "description", &empty, 3))
		require.Empty(t, resource.Text(nil, "description", &three, 3))
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		four := "abcd"
		require.Equal(t, []fault.FieldError{{Field: "description", Message: "at most 3 characters"}},
			resource.Text(nil, "description", &four, 3))
	})
}
