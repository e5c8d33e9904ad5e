package privacy_test

import (
	"testing"

	"atrium/internal/testkit"
)

// TestMain: testkit starts and stops the test services.
func TestMain(m *testing.M) { testkit.MainLeakFree(m) }
