package cache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The bus starts goroutines (subscriber, health probe); none may outlive
// the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
