package realtime_test

import (
	"testing"

	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.MainLeakFree(m) }
