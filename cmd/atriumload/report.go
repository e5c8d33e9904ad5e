package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one run, printed as a table or as JSON.
type Report struct {
	Scenario    string   `json:"scenario"`
	Target      string   `json:"target"`
	Machine     string   `json:"machine"`
	Concurrency int      `json:"concurrency"`
	Rate        float64  `json:"rate,omitempty"` // open loop when set
	Warmup      float64  `json:"warmup_seconds"`
	Seed        SeedInfo `json:"seed"`

	Window      float64          `json:"window_seconds"`
	Requests    int64            `json:"requests"`
	Throughput  float64          `json:"requests_per_second"`
	Unit        string           `json:"unit"`
	UnitsPerReq int              `json:"units_per_request"`
	UnitRate    float64          `json:"units_per_second"`
	Latency     Percentiles      `json:"latency_ms"`
	Errors      map[string]int64 `json:"errors"`
	ErrorCount  int64            `json:"error_count"`
	CPU         []Usage          `json:"cpu"`
	ServerRSS   int64            `json:"server_rss_bytes"`
	Stopped     string           `json:"stopped"`
	Extra       map[string]any   `json:"extra,omitempty"`
}

// SeedInfo describes the seeded data.
type SeedInfo struct {
	Tenants        int     `json:"tenants"`
	UsersPerTenant int     `json:"users_per_tenant"`
	TeamsPerTenant int     `json:"teams_per_tenant"`
	Conversations  int     `json:"conversations"`
	Seconds        float64 `json:"seconds"`
}

// Percentiles of a latency distribution, in milliseconds.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentiles(s Samples) Percentiles {
	return Percentiles{N: len(s), P50: ms(s.Percentile(0.5)), P90: ms(s.Percentile(0.9)), P99: ms(s.Percentile(0.99)), Max: ms(s.Percentile(1))}
}

func (r *Report) fromRun(res Result, sc *Scenario, usage []Usage) {
	r.Window = res.Window.Seconds()
	r.Requests = res.Requests
	r.Throughput = float64(res.Requests) / r.Window
	r.Unit, r.UnitsPerReq = sc.Unit, sc.Units
	r.UnitRate = r.Throughput * float64(sc.Units)
	r.Latency = percentiles(res.Latency)
	r.Errors = res.Errors
	for _, n := range res.Errors {
		r.ErrorCount += n
	}
	r.CPU = usage
	r.ServerRSS = serverRSS(usage)
	r.Stopped = res.Stopped
}

func (r *Report) fromWS(res *WSResult) {
	r.Window = res.IdleSpent.Seconds()
	r.Unit, r.UnitsPerReq = "events", 1
	r.Requests = int64(len(res.FanOut))
	r.Latency = percentiles(res.FanOut)
	r.Errors = res.Errors
	if res.Missed > 0 {
		r.Errors["missed_event"] = res.Missed
	}
	for _, n := range r.Errors {
		r.ErrorCount += n
	}
	r.CPU = res.Idle
	r.ServerRSS = serverRSS(res.Idle)
	r.Stopped = "fan-out rounds done"
	r.Extra = map[string]any{"connections": res.Conns, "fanout_rounds": res.Rounds,
		"note": "cpu and rss are measured while the connections idle; latency is publish (POST) to receipt, per subscriber"}
}

func serverRSS(us []Usage) int64 {
	for _, u := range us {
		if u.Name == "server" {
			return u.RSSBytes
		}
	}
	return 0
}

// WriteText prints the report as a small table.
func (r *Report) WriteText(w io.Writer) {
	mode := fmt.Sprintf("closed loop, c=%d", r.Concurrency)
	if r.Rate > 0 {
		mode = fmt.Sprintf("open loop, %.0f req/s, at most %d in flight", r.Rate, r.Concurrency)
	}
	if r.Scenario == "ws" {
		mode = fmt.Sprintf("%v connections held idle, then %v messages", r.Extra["connections"], r.Extra["fanout_rounds"])
	}
	fmt.Fprintf(w, "scenario  %s (%s) against %s\n", r.Scenario, mode, r.Target)
	fmt.Fprintf(w, "machine   %s\n", r.Machine)
	fmt.Fprintf(w, "seed      %d tenants x %d users, %d teams each, %d conversations (%.1fs)\n",
		r.Seed.Tenants, r.Seed.UsersPerTenant, r.Seed.TeamsPerTenant, r.Seed.Conversations, r.Seed.Seconds)
	if r.Scenario == "ws" {
		fmt.Fprintf(w, "window    %.1fs idle\n", r.Window)
		fmt.Fprintf(w, "fan-out   %d events, latency ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
			r.Latency.N, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	} else {
		fmt.Fprintf(w, "window    %.2fs, %d requests, %.0f req/s", r.Window, r.Requests, r.Throughput)
		if r.UnitsPerReq > 1 {
			fmt.Fprintf(w, ", %.0f %s/s", r.UnitRate, r.Unit)
		} else if r.Unit != "requests" {
			fmt.Fprintf(w, " (%s)", r.Unit)
		}
		fmt.Fprintf(w, "; %s\n", r.Stopped)
		fmt.Fprintf(w, "latency   ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	}
	errs := "none"
	if r.ErrorCount > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.Errors[k]))
		}
		errs = fmt.Sprintf("%d (%s)", r.ErrorCount, strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "errors    %s\n", errs)
	for k, v := range r.Extra {
		if k != "connections" && k != "fanout_rounds" && k != "note" {
			fmt.Fprintf(w, "%-9s %v\n", k, v)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "process\tpids\t% of one core\t% of machine\tRSS MiB\t")
	for _, u := range r.CPU {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t\n", u.Name, len(u.PIDs), u.CoresPercent, u.MachineShare, float64(u.RSSBytes)/(1<<20))
	}
	tw.Flush()
}
