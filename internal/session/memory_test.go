package session

import (
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"atrium/internal/cache"
)

// BenchmarkCacheMemory reports the Go heap that 100,000 cached sessions
// take (the state cache is bounded at 200,000 entries): the server's
// per-session memory once every session has made a request.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		s := NewStore(nil, cache.NewLocalBus(), slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultLifetimes)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		now := time.Now()
		for range n {
			st := &state{userID: uuid.New(), tenantID: uuid.New(), expires: now.Add(time.Hour), read: now}
			s.cache.Set(uuid.New(), st)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/session")
		if got := s.cache.EstimatedSize(); got != n {
			b.Fatalf("cached %d sessions, want %d", got, n)
		}
		s.Close()
	}
}
