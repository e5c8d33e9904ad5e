// Package metrics is the Prometheus registry of one Atrium instance and the
// collectors of the permission and session caches. Each App has its own
// registry (tests run several instances in one process), served by Handler.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"atrium/internal/viewer"
)

// Metrics is an instance's registry and the collectors shared by its caches.
type Metrics struct {
	reg           *prometheus.Registry
	checkSeconds  *prometheus.HistogramVec
	cacheRequests *prometheus.CounterVec
	invalidations *prometheus.CounterVec
	degraded      *prometheus.GaugeVec

	mu                           sync.Mutex
	collectors                   []prometheus.Collector
	httpOnce, llmOnce, auditOnce sync.Once
	http                         *HTTP
	llm                          *LLM
	audit                        *prometheus.CounterVec
}

// New returns a registry holding the Go runtime and process collectors and
// the cache collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		checkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "atrium", Subsystem: "authz", Name: "check_duration_seconds",
			Help: "Time to answer the effective permissions of a member, by the level that answered (l1, l2, db).",
			// 100 ns … 100 ms: a warm check is sub-microsecond, a database load milliseconds.
			Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10),
		}, []string{"level"}),
		cacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atrium", Subsystem: "cache", Name: "requests_total",
			Help: "Cache look-ups by cache (authz, session), level (l1 process, l2 redis) and result (hit, miss).",
		}, []string{"cache", "level", "result"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atrium", Subsystem: "cache", Name: "invalidations_received_total",
			Help: "Invalidations applied by cache and source (local: made here; bus: from another instance or the bus; reset: caches cleared after a bus health change).",
		}, []string{"cache", "source"}),
		degraded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "atrium", Subsystem: "cache", Name: "degraded",
			Help: "1 while a cache runs without a healthy invalidation bus (short in-process TTL, no Redis level).",
		}, []string{"cache"}),
	}
	m.Register(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.checkSeconds, m.cacheRequests, m.invalidations, m.degraded,
	)
	m.Register(systemViewerCounters()...)
	return m
}

// systemViewerCounters expose viewer.Count: one counter per fixed reason, so
// the label's cardinality is the length of viewer.Reasons. The counts are
// process-wide (every instance in one process reports the same numbers).
func systemViewerCounters() []prometheus.Collector {
	var out []prometheus.Collector
	for _, r := range viewer.Reasons() {
		out = append(out, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "atrium", Name: "system_viewer_total",
			Help:        "Uses of the system bypass (viewer.System: no tenant filter, no row-level security) by reason.",
			ConstLabels: prometheus.Labels{"reason": r.String()},
		}, func() float64 { return float64(viewer.Count(r)) }))
	}
	return out
}

// Registry is the instance's registry. Register collectors with Register,
// so that Names knows them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format. Mount it
// on the internal (metrics) listener; it is not meant for the public API.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Cache holds the collectors of one named cache with their labels resolved,
// so the hot path only increments.
type Cache struct {
	L1Hit, L1Miss, L2Hit, L2Miss prometheus.Counter
	// Invalidated counts invalidations by where they came from.
	InvalidatedLocal, InvalidatedBus, InvalidatedReset prometheus.Counter
	// Check observes the time to answer, by the level that answered.
	CheckL1, CheckL2, CheckDB prometheus.Observer
	Degraded                  prometheus.Gauge
}

// Cache returns the collectors of the cache called name ("authz",
// "session"). A nil Metrics returns working collectors registered nowhere,
// so callers need no nil checks.
func (m *Metrics) Cache(name string) *Cache {
	if m == nil {
		m = New()
	}
	return &Cache{
		L1Hit:            m.cacheRequests.WithLabelValues(name, "l1", "hit"),
		L1Miss:           m.cacheRequests.WithLabelValues(name, "l1", "miss"),
		L2Hit:            m.cacheRequests.WithLabelValues(name, "l2", "hit"),
		L2Miss:           m.cacheRequests.WithLabelValues(name, "l2", "miss"),
		InvalidatedLocal: m.invalidations.WithLabelValues(name, "local"),
		InvalidatedBus:   m.invalidations.WithLabelValues(name, "bus"),
		InvalidatedReset: m.invalidations.WithLabelValues(name, "reset"),
		CheckL1:          m.checkSeconds.WithLabelValues("l1"),
		CheckL2:          m.checkSeconds.WithLabelValues("l2"),
		CheckDB:          m.checkSeconds.WithLabelValues("db"),
		Degraded:         m.degraded.WithLabelValues(name),
	}
}
