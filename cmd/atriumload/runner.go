package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"atrium/gen/api"
)

// Samples are latencies, kept whole: a run is bounded by -max-requests, so
// exact percentiles cost at most 8 bytes per request.
type Samples []time.Duration

// Percentile returns the q-quantile (0 < q <= 1) by the nearest-rank method:
// the smallest sample with at least q of the samples at or below it. The
// samples must be sorted.
func (s Samples) Percentile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	rank := int(q*float64(len(s)) + 0.999999999) // ceil without float noise
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Intended is the send time of request i in an open loop at rate requests
// per second starting at start. Latency is measured from it, not from the
// moment the request could actually be sent, so that a server that stalls
// is charged for the requests it delayed (no coordinated omission).
func Intended(start time.Time, i int64, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// Plan bounds one run.
type Plan struct {
	Concurrency int           // closed loop: workers; open loop: most requests in flight
	Rate        float64       // > 0: open loop at this many requests per second
	Warmup      time.Duration // requests sent before the window are not measured
	Duration    time.Duration // the measurement window
	MaxTime     time.Duration // hard bound on the whole run, in-flight requests included
	MaxRequests int64         // hard bound on requests sent, warm-up included
}

// Op is one request (or one ceremony) of a scenario, run by worker w.
type Op func(ctx context.Context, w int) error

// Result is what a run measured inside its window.
type Result struct {
	Requests int64            // completed in the window, errors included
	Errors   map[string]int64 // by class: HTTP status, "wrong_answer", "transport", ...
	Latency  Samples          // sorted
	Window   time.Duration    // from the window's start to the last completion of a request sent in it
	Sent     int64            // every request sent, warm-up included
	Stopped  string
}

// errWrongAnswer marks a response that contradicts the model.
var errWrongAnswer = errors.New("wrong answer")

// classify names an error for the report.
func classify(err error) string {
	var se *api.ErrorStatusCode
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("http_%d", se.StatusCode)
	case errors.Is(err, errWrongAnswer):
		return "wrong_answer"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout"
	}
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) {
		return fmt.Sprintf("http_%d", sc.StatusCode())
	}
	return "transport"
}

type recorder struct {
	mu       sync.Mutex
	from, to time.Time
	lat      Samples
	errs     map[string]int64
	n        int64
	last     time.Time // latest completion of a measured request
	byDone   bool      // closed loop: measure requests completed in the window
}

// add records a request sent (or due) at start that took d. A closed loop
// measures the requests that completed in the window; an open loop those
// due in it, however late they complete.
func (r *recorder) add(start time.Time, d time.Duration, err error) {
	at := start
	if r.byDone {
		at = start.Add(d)
	}
	if at.Before(r.from) || !at.Before(r.to) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	r.lat = append(r.lat, d)
	if done := start.Add(d); done.After(r.last) {
		r.last = done
	}
	if err != nil {
		r.errs[classify(err)]++
	}
}

// Run runs op under plan. window, if set, is called once when the window
// opens and once when it closes (true), for CPU snapshots.
func Run(ctx context.Context, p Plan, op Op, window func(closing bool)) Result {
	ctx, cancel := context.WithTimeout(ctx, p.MaxTime)
	defer cancel()
	start := time.Now()
	rec := &recorder{from: start.Add(p.Warmup), to: start.Add(p.Warmup + p.Duration), errs: map[string]int64{}, byDone: p.Rate <= 0}
	var sent atomic.Int64
	take := func() bool { return sent.Add(1) <= p.MaxRequests }
	stopped := "window ended"

	var timers sync.WaitGroup
	if window != nil {
		timers.Add(1)
		go func() {
			defer timers.Done()
			for i, at := range []time.Time{rec.from, rec.to} {
				select {
				case <-time.After(time.Until(at)):
				case <-ctx.Done():
				}
				window(i == 1)
			}
		}()
	}

	var wg sync.WaitGroup
	if p.Rate <= 0 {
		for w := range p.Concurrency {
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(rec.to) && take() {
					t0 := time.Now()
					err := op(ctx, w)
					rec.add(t0, time.Since(t0), err)
				}
			})
		}
	} else {
		jobs := make(chan time.Time, p.Concurrency)
		for w := range p.Concurrency {
			wg.Go(func() {
				for at := range jobs {
					err := op(ctx, w)
					rec.add(at, time.Since(at), err)
				}
			})
		}
	dispatch:
		for i := int64(0); ; i++ {
			at := Intended(start, i, p.Rate)
			if !at.Before(rec.to) || !take() {
				break
			}
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					break dispatch
				}
			}
			select {
			case jobs <- at: // blocks when every worker is busy; the wait counts in the latency
			case <-ctx.Done():
				break dispatch
			}
		}
		close(jobs)
	}
	wg.Wait()
	cancel()
	timers.Wait()
	switch {
	case sent.Load() > p.MaxRequests:
		stopped = "max requests reached"
	case time.Since(start) >= p.MaxTime:
		stopped = "max time reached"
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	slices.Sort(rec.lat)
	// Throughput is measured up to the last completion of a measured
	// request: in an open loop that the server cannot keep up with, requests
	// complete long after they were due, and the offered rate is not the
	// achieved one; a closed loop stopped by -max-requests ends early.
	span := p.Duration
	if !rec.last.IsZero() {
		span = max(rec.last.Sub(rec.from), time.Millisecond)
	}
	return Result{Requests: rec.n, Errors: rec.errs, Latency: rec.lat, Window: span, Sent: min(sent.Load(), p.MaxRequests), Stopped: stopped}
}
