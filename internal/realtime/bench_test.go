package realtime_test

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/realtime"
)

// BenchmarkFanOut publishes to 1,000 subscribers of one conversation and
// reports the p99 latency from Publish to a client having read the event.
// Each iteration waits until every subscriber has the event.
func BenchmarkFanOut(b *testing.B) {
	const subscribers = 1000
	tb := setup(b)
	h := realtime.NewHub(tb.auth, tb.authz, tb.bus, nil)
	srv := httptestServer(b, h)
	tenant, conv := uuid.New(), uuid.New()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		got       sync.WaitGroup
	)
	for range subscribers {
		u := tb.user(tenant)
		tb.authz.set(u.p.UserID, conv, true)
		c := mustDial(b, srv, u.token)
		mustSubscribe(b, c, conv)
		go func() {
			for {
				e, err := read(b, c, time.Minute)
				if err != nil {
					return
				}
				var sent int64
				_ = json.Unmarshal(e.Data, &sent)
				d := time.Since(time.Unix(0, sent))
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
				got.Done()
			}
		}()
	}

	b.ResetTimer()
	for b.Loop() {
		got.Add(subscribers)
		data := json.RawMessage(strconv.FormatInt(time.Now().UnixNano(), 10))
		require.NoError(b, h.Publish(b.Context(), realtime.Event{Type: realtime.TypeAssistantToken, TenantID: tenant, ConversationID: conv, Data: data}))
		got.Wait()
	}
	b.StopTimer()

	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		b.ReportMetric(float64(latencies[n*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(latencies[n/2].Microseconds()), "p50-µs")
	}
	require.NoError(b, h.Close(context.Background()))
}

// BenchmarkIdleConnections holds 5,000 idle authenticated connections, each
// subscribed to one conversation, and reports per connection the Go heap in
// use, the goroutine stacks, the total memory the runtime took from the OS,
// and the goroutines. Client and server share the process, so the memory
// figures are upper bounds for the server alone (a client connection holds
// its own buffers but no goroutine). Budget: 10,000 connections within
// 512 MB RSS.
func BenchmarkIdleConnections(b *testing.B) {
	const conns = 5000
	tb := setup(b)
	// The clients do not read, so they would not answer pings: no ping
	// within the run.
	h := realtime.NewHub(tb.auth, tb.authz, tb.bus, nil, realtime.WithPingInterval(time.Hour))
	srv := httptestServer(b, h)
	tenant := uuid.New()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for range b.N {
		for range conns {
			u := tb.user(tenant)
			conv := uuid.New()
			tb.authz.set(u.p.UserID, conv, true)
			c := mustDial(b, srv, u.token)
			mustSubscribe(b, c, conv)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	open, _ := h.Stats()
	require.Equal(b, conns*b.N, open, "connections were closed during the run")
	if path := os.Getenv("ATRIUM_BENCH_HEAP_PROFILE"); path != "" {
		// What the held connections keep: go tool pprof -sample_index=inuse_space
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.WriteHeapProfile(f))
		require.NoError(b, f.Close())
	}
	n := float64(open)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n/1024, "heap-KiB/conn")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/n/1024, "stack-KiB/conn")
	b.ReportMetric(float64(after.Sys-before.Sys)/n/1024, "sys-KiB/conn")
	b.ReportMetric(float64(runtime.NumGoroutine()-g0)/n, "goroutines/conn")
	b.ReportMetric(n, "connections")
	require.NoError(b, h.Close(context.Background()))
}
