package testkit

import (
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
)

// RequireField asserts that err is a fault.Invalid naming field among its
// field errors: a 400 whose body says what to fix.
func RequireField(t testing.TB, err error, field string) {
	t.Helper()
	RequireCode(t, err, fault.Invalid)
	var names []string
	for _, f := range fault.As(err).Fields {
		if f.Field == field {
			return
		}
		names = append(names, f.Field)
	}
	require.Failf(t, "no field error", "want one for %q, got %v (err: %v)", field, names, err)
}
