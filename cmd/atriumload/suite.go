package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// A Step is one row of issue #12's table: a scenario with its settings and
// the target it is judged against.
type Step struct {
	Row      string  `json:"row"`
	Target   string  `json:"target"`
	Scenario string  `json:"scenario"`
	C        int     `json:"concurrency"`
	Rate     float64 `json:"rate,omitempty"`
	WSConns  int     `json:"ws_conns,omitempty"`
	Rounds   int     `json:"fanout_rounds,omitempty"`
	// Sessions bounds the sessions scenario by count (its window is then
	// -sessions-time), 0 otherwise.
	Sessions int64 `json:"sessions,omitempty"`
	// judge says what was measured and whether it meets the target.
	judge func(r *Report) (string, bool)
}

// StepResult is a step's outcome.
type StepResult struct {
	Step     Step    `json:"step"`
	Measured string  `json:"measured"`
	Pass     bool    `json:"pass"`
	Skipped  string  `json:"skipped,omitempty"`
	Error    string  `json:"error,omitempty"`
	Report   *Report `json:"report,omitempty"`
	Load     string  `json:"load_average"` // at the end of the step
}

// SuiteOptions choose the optional rows of the suite.
type SuiteOptions struct {
	WS10k       bool          // the 10,000 idle WebSockets row (connecting takes ~20 s on 2 cores)
	Sessions    int64         // sessions to create in the sessions row (0 skips it)
	SessionTime time.Duration // bound on the sessions row
}

const mib = 1 << 20

// Suite is every row of the issue #12 table (docs/performance.md), in the
// order they run: the WebSocket rows first (their RSS is the server's), the
// session row last (it leaves the most sessions behind).
func Suite(so SuiteOptions) []Step {
	p99 := func(r *Report) float64 { return r.Latency.P99 }
	fmtRate := func(r *Report) string {
		s := fmt.Sprintf("%.0f %s/s", r.UnitRate, r.Unit)
		if r.UnitsPerReq > 1 {
			s = fmt.Sprintf("%.0f req/s = %.0f %s/s", r.Throughput, r.UnitRate, r.Unit)
		}
		return s
	}
	errText := func(r *Report) string {
		if r.ErrorCount == 0 {
			return ""
		}
		return fmt.Sprintf(", %d errors", r.ErrorCount)
	}
	steps := []Step{
		{Row: "event delivery to 1,000 subscribers", Target: "p99 <= 100 ms", Scenario: "ws", WSConns: 1000, Rounds: 20,
			judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, %d events%s", r.Latency.P50, p99(r), r.Latency.N, errText(r)),
					p99(r) <= 100 && r.ErrorCount == 0
			}},
	}
	if so.WS10k {
		steps = append(steps, Step{Row: "10,000 idle subscribed WebSockets", Target: "<= 512 MB RSS, idle CPU <= 5%",
			Scenario: "ws", WSConns: 10000, Rounds: 5,
			judge: func(r *Report) (string, bool) {
				cpu := cpuOf(r, "server")
				conns, _ := r.Extra["connections"].(int)
				return fmt.Sprintf("%d connected, RSS %.0f MiB, idle CPU %.1f%% of the machine%s", conns,
						float64(r.ServerRSS)/mib, cpu.MachineShare, errText(r)),
					conns >= 10000 && r.ServerRSS <= 512*mib && cpu.MachineShare <= 5
			}})
	}
	steps = append(steps,
		Step{Row: "POST /authz/check, 100 checks per request, c16", Target: ">= 200,000 checks/s, p99 <= 20 ms",
			Scenario: "check100", C: 16, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("%s, p99 %.1f ms%s", fmtRate(r), p99(r), errText(r)),
					r.UnitRate >= 200_000 && p99(r) <= 20 && r.ErrorCount == 0
			}},
		Step{Row: "GET /conversations/{id}, open loop 2,000 req/s", Target: "p99 <= 10 ms",
			Scenario: "read", C: 256, Rate: 2000, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("achieved %.0f req/s, p50 %.1f ms, p99 %.1f ms%s", r.Throughput, r.Latency.P50, p99(r), errText(r)),
					p99(r) <= 10 && r.ErrorCount == 0
			}},
		Step{Row: "GET /conversations first page, c16", Target: ">= 2,000 req/s, p99 <= 20 ms",
			Scenario: "list", C: 16, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("%.0f req/s, p99 %.1f ms%s", r.Throughput, p99(r), errText(r)),
					r.Throughput >= 2000 && p99(r) <= 20 && r.ErrorCount == 0
			}},
		Step{Row: "POST .../messages, c16", Target: ">= 1,500 req/s",
			Scenario: "write", C: 16, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("%.0f req/s, p99 %.1f ms%s", r.Throughput, p99(r), errText(r)),
					r.Throughput >= 1500 && r.ErrorCount == 0
			}},
		Step{Row: "passkey logins, 1,000 concurrent ceremonies", Target: ">= 500 logins/s, 0 errors",
			Scenario: "login", C: 1000, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("%s, p99 %.0f ms%s", fmtRate(r), p99(r), errText(r)),
					r.UnitRate >= 500 && r.ErrorCount == 0
			}},
		Step{Row: "passkey logins, open loop 250/s", Target: "p99 <= 250 ms",
			Scenario: "login", C: 1000, Rate: 250, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("achieved %s, p99 %.0f ms%s", fmtRate(r), p99(r), errText(r)),
					p99(r) <= 250 && r.ErrorCount == 0
			}},
		Step{Row: "refresh rotations, 1,000 concurrent", Target: ">= 800/s",
			Scenario: "refresh", C: 1000, judge: func(r *Report) (string, bool) {
				return fmt.Sprintf("%s, p99 %.0f ms%s", fmtRate(r), p99(r), errText(r)),
					r.UnitRate >= 800 && r.ErrorCount == 0
			}},
	)
	if so.Sessions > 0 {
		n := so.Sessions
		steps = append(steps, Step{Row: fmt.Sprintf("%d active sessions", n), Target: "<= 256 MB server RSS",
			Scenario: "sessions", C: 64, Sessions: n, judge: func(r *Report) (string, bool) {
				made, _ := r.Extra["sessions_created"].(int64)
				return fmt.Sprintf("%d sessions in %.0fs, RSS %.0f MiB%s", made, r.Window, float64(r.ServerRSS)/mib, errText(r)),
					made >= n && r.ServerRSS <= 256*mib && r.ErrorCount == 0
			}})
	}
	return steps
}

func cpuOf(r *Report, name string) Usage {
	for _, u := range r.CPU {
		if u.Name == name {
			return u
		}
	}
	return Usage{}
}

// RunSuite runs every step on one seeded server, one after the other, and
// returns their results. A step that fails to run is recorded and the suite
// goes on.
func (b *Bench) RunSuite(ctx context.Context, steps []Step, so SuiteOptions) []StepResult {
	var out []StepResult
	base := b.o
	defer func() { b.o = base }()
	for _, st := range steps {
		if ctx.Err() != nil {
			out = append(out, StepResult{Step: st, Skipped: "interrupted", Load: loadAverage()})
			continue
		}
		o := base
		o.Concurrency, o.Rate = max(st.C, 1), st.Rate
		if st.WSConns > 0 {
			o.WSConns, o.FanOutRounds = st.WSConns, st.Rounds
		}
		if st.Sessions > 0 {
			o.Duration, o.MaxRequests = so.SessionTime, st.Sessions
		}
		o.MaxTime = o.Warmup + o.Duration + 30*time.Second
		b.o = o
		base.Log("step %q (%s)", st.Row, st.Scenario)
		rep, err := b.Run(ctx, st.Scenario)
		res := StepResult{Step: st, Report: rep, Load: loadAverage()}
		if err != nil {
			res.Error = err.Error()
		} else {
			res.Measured, res.Pass = st.judge(rep)
		}
		out = append(out, res)
	}
	return out
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// WriteSuite prints the summary table: one line per row of the issue.
func WriteSuite(w io.Writer, machine string, seed SeedInfo, results []StepResult) {
	fmt.Fprintf(w, "machine   %s\n", machine)
	fmt.Fprintf(w, "seed      %d tenants x %d users, %d teams each, %d conversations (%.1fs)\n\n",
		seed.Tenants, seed.UsersPerTenant, seed.TeamsPerTenant, seed.Conversations, seed.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "row\ttarget\tmeasured\tresult\tserver cpu\ttool cpu\tpostgres cpu\tload avg\t\n")
	pass := 0
	for _, r := range results {
		verdict, measured := "FAIL", r.Measured
		switch {
		case r.Skipped != "":
			verdict, measured = "skipped", r.Skipped
		case r.Error != "":
			verdict, measured = "ERROR", r.Error
		case r.Pass:
			verdict = "pass"
			pass++
		}
		var srv, tool, pg string
		if r.Report != nil {
			srv = fmt.Sprintf("%.0f", cpuOf(r.Report, "server").CoresPercent)
			tool = fmt.Sprintf("%.0f", cpuOf(r.Report, "atriumload").CoresPercent)
			pg = fmt.Sprintf("%.0f", cpuOf(r.Report, "postgres").CoresPercent)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Step.Row, r.Step.Target, measured, verdict, srv, tool, pg, r.Load)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ncpu: %% of one core during the row's window (postgres: every postgres process on the machine)\n")
	fmt.Fprintf(w, "%d of %d rows meet their target\n", pass, len(results))
}
