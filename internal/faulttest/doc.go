// Package faulttest holds the fault tests: Atrium on throwaway PostgreSQL and
// Redis servers of its own, which the tests stop, restart, exhaust or
// blackhole, asserting through the generated client what a client receives.
// Tests only; see docs/reliability.md.
package faulttest
