package serviceaccount_test

import (
	"testing"

	"atrium/internal/testkit"
)

// The cross-instance tests start whole instances (caches, bus): none may
// leave a goroutine behind.
func TestMain(m *testing.M) { testkit.MainLeakFree(m) }
