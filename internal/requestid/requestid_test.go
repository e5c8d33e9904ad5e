package requestid_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/requestid"
)

func TestValid(t *testing.T) {
	t.Parallel()
	for _, id := range []string{
		"a", "req-1", "A.b_c-9", strings.Repeat("x", 64), requestid.New(),
		"0f8fad5b-d9cb-469f-a165-70867728950e",
	} {
		require.True(t, requestid.Valid(id), "%q is adopted", id)
	}
	for _, id := range []string{
		"",                        // nothing to adopt
		strings.Repeat("x", 65),   // too long
		"a b",                     // space
		"a\nlevel=ERROR msg=fake", // a forged log line
		"a\r",
		"a\"b", "a=b", "a/b", "a;b", "a%0a", "<script>",
		"é",       // non-ASCII (2 bytes)
		"a\x00b",  // NUL
		"\u202ea", // bidi override
	} {
		require.False(t, requestid.Valid(id), "%q is refused", id)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id := requestid.New()
		require.Len(t, id, 26)
		require.True(t, requestid.Valid(id), "a generated id is one the server would adopt")
		require.False(t, seen[id], "ids repeat")
		seen[id] = true
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	require.Empty(t, requestid.FromContext(context.Background()))
	ctx := requestid.NewContext(context.Background(), "abc")
	require.Equal(t, "abc", requestid.FromContext(ctx))
	require.Equal(t, "def", requestid.FromContext(requestid.NewContext(ctx, "def")), "the innermost id wins")
	require.Equal(t, "abc", requestid.FromContext(ctx))
}
