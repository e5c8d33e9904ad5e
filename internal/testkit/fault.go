package testkit

import (
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
)

// RequireCode asserts that err is a *fault.Error with code: what a service
// returns for the HTTP layer to map to a status.
func RequireCode(t testing.TB, err error, code fault.Code) {
	t.Helper()
	fe := fault.As(err)
	require.NotNil(t, fe, "err: %v", err)
	require.Equal(t, code, fe.Code, "err: %v", err)
}
