package compliance_test

import (
	"testing"

	"atrium/internal/testkit"
)

// TestMain is the one TestMain of the package's external tests (security
// and GDPR alike): testkit starts and stops the test services.
func TestMain(m *testing.M) { testkit.MainLeakFree(m) }
