package metrics

import (
	"database/sql"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// HTTP holds the request collectors of the API listener. Its labels are
// bounded: operation is an OpenAPI operation name or one of a few fixed
// names for the routes beside the API, status_class is 1xx…5xx.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// HTTP returns the instance's HTTP collectors, registering them on first
// use. A nil Metrics returns collectors registered nowhere.
func (m *Metrics) HTTP() *HTTP {
	if m == nil {
		m = New()
	}
	m.httpOnce.Do(func() {
		m.http = &HTTP{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "atrium", Subsystem: "http", Name: "requests_total",
				Help: "HTTP requests answered, by API operation (OpenAPI operation name, or console, websocket, jwks, metrics, unmatched) and status class (2xx, 4xx, 5xx, ...).",
			}, []string{"operation", "status_class"}),
			duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Namespace: "atrium", Subsystem: "http", Name: "request_duration_seconds",
				Help:    "Time to answer an HTTP request, by API operation (for the WebSocket: the whole connection).",
				Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			}, []string{"operation"}),
			inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
				Namespace: "atrium", Subsystem: "http", Name: "requests_in_flight",
				Help: "HTTP requests being answered (WebSocket connections included).",
			}),
		}
		m.Register(m.http.requests, m.http.duration, m.http.inFlight)
	})
	return m.http
}

// Start counts a request in flight and returns what to call when it is
// answered.
func (h *HTTP) Start() func(operation string, status int, d time.Duration) {
	h.inFlight.Inc()
	return func(operation string, status int, d time.Duration) {
		h.inFlight.Dec()
		h.requests.WithLabelValues(operation, StatusClass(status)).Inc()
		h.duration.WithLabelValues(operation).Observe(d.Seconds())
	}
}

// StatusClass is "2xx" for 200…299 and so on; "unknown" outside 100…599.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "unknown"
	}
	return strconv.Itoa(status/100) + "xx"
}

// DBPool exports db's pool statistics as go_sql_* with db_name="atrium"
// (open, in use, idle, max open connections, waits and their time, closes).
func (m *Metrics) DBPool(db *sql.DB) {
	m.Register(collectors.NewDBStatsCollector(db, "atrium"))
}

// GaugeFunc registers a gauge read when scraped (atrium_<name>).
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "atrium", Name: name, Help: help}, f))
}

// LLM holds the collectors of language-model calls, by provider (echo,
// openai: the configured providers, not the models).
type LLM struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
}

// LLM returns the language-model collectors, registering them on first use.
func (m *Metrics) LLM() *LLM {
	if m == nil {
		m = New()
	}
	m.llmOnce.Do(func() {
		m.llm = &LLM{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "atrium", Subsystem: "llm", Name: "requests_total",
				Help: "Language-model completions by provider and result (ok, error, timeout, canceled).",
			}, []string{"provider", "result"}),
			duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Namespace: "atrium", Subsystem: "llm", Name: "request_duration_seconds",
				Help:    "Time of a language-model completion (streamed: to its last token), by provider.",
				Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120},
			}, []string{"provider"}),
			tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "atrium", Subsystem: "llm", Name: "tokens_total",
				Help: "Tokens the providers reported, by provider and kind (prompt, completion).",
			}, []string{"provider", "kind"}),
		}
		m.Register(m.llm.requests, m.llm.duration, m.llm.tokens)
	})
	return m.llm
}

// Observe records one completion.
func (l *LLM) Observe(provider, result string, d time.Duration, prompt, completion int) {
	l.requests.WithLabelValues(provider, result).Inc()
	l.duration.WithLabelValues(provider).Observe(d.Seconds())
	if prompt > 0 {
		l.tokens.WithLabelValues(provider, "prompt").Add(float64(prompt))
	}
	if completion > 0 {
		l.tokens.WithLabelValues(provider, "completion").Add(float64(completion))
	}
}

// AuditAppends returns the counter of audit events appended to their hash
// chain, by result (ok, error), registering it on first use.
func (m *Metrics) AuditAppends() *prometheus.CounterVec {
	m.auditOnce.Do(func() {
		m.audit = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atrium", Subsystem: "audit", Name: "appends_total",
			Help: "Audit events appended to their tenant's hash chain (result=ok), or that failed to (result=error).",
		}, []string{"result"})
		m.Register(m.audit)
	})
	return m.audit
}

// Register adds collectors to the registry; Names lists what they describe.
func (m *Metrics) Register(cs ...prometheus.Collector) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reg.MustRegister(cs...)
	m.collectors = append(m.collectors, cs...)
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the metric names the registered collectors describe (a
// histogram by its base name), whether or not they have been observed yet,
// for the test that every metric the alert rules and the dashboard name
// exists.
func (m *Metrics) Names() []string {
	m.mu.Lock()
	cs := append([]prometheus.Collector(nil), m.collectors...)
	m.mu.Unlock()
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	seen := map[string]bool{}
	var out []string
	for d := range ch {
		if sm := fqName.FindStringSubmatch(d.String()); sm != nil && !seen[sm[1]] {
			seen[sm[1]] = true
			out = append(out, sm[1])
		}
	}
	return out
}
