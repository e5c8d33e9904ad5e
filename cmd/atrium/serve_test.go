package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	t.Run("OKUnset", func(t *testing.T) {
		debug.SetGCPercent(100)
		tuneGC(func(string) string { return "" })
		require.Equal(t, serveGCPercent, debug.SetGCPercent(100))
	})
	t.Run("OKGOGCWins", func(t *testing.T) {
		// The runtime read GOGC at start; serve leaves it alone.
		debug.SetGCPercent(100)
		tuneGC(func(k string) string {
			if k == "GOGC" {
				return "100"
			}
			return ""
		})
		require.Equal(t, 100, debug.SetGCPercent(100))
	})
}
