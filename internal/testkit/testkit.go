// Package testkit provides the services tests run against: an isolated,
// migrated database per test (SQLite always, PostgreSQL when one can be had)
// and a Redis per test. Import it from tests only.
//
// Where services come from, in order:
//
//   - PostgreSQL: ATRIUM_TEST_DATABASE_URL (a superuser URL to the server's
//     maintenance database); else a throwaway server started from local
//     binaries (initdb/postgres from /usr/lib/postgresql/*/bin or PATH) in a
//     temp dir on a random port; else the test is skipped, loudly.
//   - Redis: ATRIUM_TEST_REDIS_URL; else a throwaway redis-server; else an
//     in-process miniredis.
//
// With ATRIUM_TEST_REQUIRE_SERVICES=1 (CI) a missing PostgreSQL or a missing
// real Redis fails the test instead.
//
// Throwaway servers are started once per test binary and stopped by Main:
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// Packages that start goroutines use MainLeakFree instead, which also fails
// the binary if any goroutine outlives the tests (go.uber.org/goleak).
//
// Without Main they are still killed when the test binary exits (they get a
// parent-death signal), only less gracefully.
package testkit

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests, stops the throwaway servers and prints which services
// were real, throwaway or missing.
func Main(m *testing.M) {
	os.Exit(run(m))
}

// MainLeakFree is Main, and then fails the test binary if goroutines are
// left running once the tests passed and the throwaway servers stopped:
// whoever starts a goroutine must stop it and wait for it.
func MainLeakFree(m *testing.M, opts ...goleak.Option) {
	code := run(m)
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M) int {
	code := m.Run()
	for i := len(stoppers) - 1; i >= 0; i-- {
		stoppers[i]()
	}
	printSummary()
	return code
}

// requireServices reports whether missing services must fail tests (CI).
func requireServices() bool { return os.Getenv("ATRIUM_TEST_REQUIRE_SERVICES") == "1" }

var (
	stateMu  sync.Mutex
	stoppers []func()
	services = map[string]string{} // service -> how it is provided
	skipped  = map[string]int{}    // service -> tests skipped for want of it
)

func onStop(f func()) {
	stateMu.Lock()
	defer stateMu.Unlock()
	stoppers = append(stoppers, f)
}

// announce records (and prints once, loudly) how a service is provided.
func announce(service, how string) {
	stateMu.Lock()
	defer stateMu.Unlock()
	if _, ok := services[service]; ok {
		return
	}
	services[service] = how
	fmt.Fprintf(os.Stderr, "testkit: %s: %s\n", service, how)
}

// missing skips tb for want of a service, or fails it when services are
// required.
func missing(tb testing.TB, service string, err error) {
	tb.Helper()
	if requireServices() {
		tb.Fatalf("testkit: %s is required (ATRIUM_TEST_REQUIRE_SERVICES=1) but unavailable: %v", service, err)
	}
	stateMu.Lock()
	skipped[service]++
	stateMu.Unlock()
	tb.Skipf("testkit: SKIPPED: %s unavailable: %v", service, err)
}

func printSummary() {
	stateMu.Lock()
	defer stateMu.Unlock()
	if len(services) == 0 && len(skipped) == 0 {
		return
	}
	var lines []string
	for s, how := range services {
		lines = append(lines, fmt.Sprintf("  %-10s %s", s, how))
	}
	sort.Strings(lines)
	var b strings.Builder
	b.WriteString("testkit: services used by this test binary:\n")
	b.WriteString(strings.Join(lines, "\n") + "\n")
	for s, n := range skipped {
		fmt.Fprintf(&b, "  !!! %d test(s) SKIPPED for want of %s: set ATRIUM_TEST_DATABASE_URL / ATRIUM_TEST_REDIS_URL or install the server\n", n, s)
	}
	fmt.Fprint(os.Stderr, b.String())
	appendSummaryFile(services, skipped)
}

// appendSummaryFile adds this binary's service lines to the file named by
// ATRIUM_TEST_SUMMARY. `go test ./...` hides the output of passing packages,
// so `make test` collects the lines there and prints them once at the end.
func appendSummaryFile(services map[string]string, skipped map[string]int) {
	path := os.Getenv("ATRIUM_TEST_SUMMARY")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	for s, how := range services {
		fmt.Fprintf(f, "  %-10s %s\n", s, how)
	}
	for s, n := range skipped {
		fmt.Fprintf(f, "  !!! SKIPPED for want of %s (%d test(s) in one package): set ATRIUM_TEST_DATABASE_URL / ATRIUM_TEST_REDIS_URL or install the server\n", s, n)
	}
}
