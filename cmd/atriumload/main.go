// Command atriumload puts a running Atrium under load over real HTTP and
// reports throughput, latency percentiles, errors and the CPU and memory
// the tool, the server, PostgreSQL and Redis used. It seeds its own data
// through the API from a first-admin invitation, and checks every
// POST /authz/check answer against a model of that data. It only targets
// loopback addresses. See docs/performance.md ("Over HTTP").
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

const usage = `Usage: atriumload -scenario NAME (-invite TOKEN_OR_LINK[,...] | -atrium-bin PATH) [flags]

Scenarios: read, list, write, check1, check100, login, refresh, sessions, ws,
and all: every row of issue #12's table in one run on one seeded server
(docs/performance.md), ending with a summary table.

The server must run with its auth rate limits off for the run (seeding and
the login/refresh scenarios sign in far faster than people do):
  ATRIUM_RATE_LIMIT_IP_PER_MINUTE=0 ATRIUM_RATE_LIMIT_CREDENTIAL_PER_MINUTE=0 \
  ATRIUM_RATE_LIMIT_INVITATION_PER_HOUR=0 ATRIUM_RATE_LIMIT_USER_PER_MINUTE=0

Flags:
`

// Options is one run; the flags fill it.
type Options struct {
	URL, Origin     string
	Scenario        string
	Concurrency     int
	Rate            float64
	Warmup          time.Duration
	Duration        time.Duration
	MaxTime         time.Duration
	MaxRequests     int64
	Invitations     []string
	AtriumBin       string
	Tenants         int
	Layout          Layout
	SeedParallelism int
	SpreadTenants   bool
	WSConns         int
	FanOutRounds    int
	RoundTimeout    time.Duration
	ServerPID       int
	Log             func(string, ...any)
}

func main() {
	// The tool shares the machine with the server it measures: it trades
	// memory (its RSS went from ~22 to ~38 MiB) for less of the CPU the
	// server needs: it collects a quarter as often (list row, c16: 1,300 ->
	// 1,490 req/s, docs/performance.md). GOGC still overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atriumload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	o := Options{}
	var invites string
	var asJSON bool
	so := SuiteOptions{}
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the server (loopback only)")
	fs.StringVar(&o.Origin, "origin", "http://localhost:8080", "the server's ATRIUM_PUBLIC_URL (WebAuthn origin and RP ID)")
	fs.StringVar(&o.Scenario, "scenario", "", "read, list, write, check1, check100, login, refresh, sessions, ws, or all (every row of issue #12)")
	fs.IntVar(&o.Concurrency, "c", 16, "closed loop: concurrent workers; open loop: most requests in flight")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop at this many requests per second (0 = closed loop)")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "unmeasured warm-up")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measurement window")
	fs.DurationVar(&o.MaxTime, "max-time", 0, "hard bound on the run after seeding (default warm-up + window + 30s)")
	fs.Int64Var(&o.MaxRequests, "max-requests", 2_000_000, "hard bound on requests sent, warm-up included")
	fs.StringVar(&invites, "invite", "", "first-admin invitation tokens or enrollment links from 'atrium tenant create', comma-separated: one tenant each")
	fs.StringVar(&o.AtriumBin, "atrium-bin", "", "run 'PATH tenant create' with this environment (the server's ATRIUM_*) to make the tenants")
	fs.IntVar(&o.Tenants, "tenants", 1, "tenants to create with -atrium-bin")
	fs.IntVar(&o.Layout.Users, "users", 20, "users per tenant (user 0 is the admin); login scenarios need users*tenants >= -c")
	fs.IntVar(&o.Layout.Teams, "teams", 4, "teams per tenant")
	fs.IntVar(&o.Layout.ConvsPerUser, "convs", 5, "conversations owned by each user")
	fs.IntVar(&o.SeedParallelism, "seed-c", 8, "concurrent requests while seeding")
	fs.BoolVar(&o.SpreadTenants, "spread-tenants", false, "give workers users of every tenant in turn (default: tenant order, so -c below -users puts every worker in the first tenant)")
	fs.IntVar(&o.WSConns, "ws-conns", 1000, "ws: connections to hold")
	fs.IntVar(&o.FanOutRounds, "fanout-rounds", 20, "ws: messages published after the idle window")
	fs.DurationVar(&o.RoundTimeout, "round-timeout", 10*time.Second, "ws: how long to wait for every subscriber to get one message")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "the server's process (default: the process listening on -url's port)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&so.WS10k, "ws10k", false, "all: include the 10,000 idle WebSockets row (~20 s to connect on the 2-core machine)")
	fs.Int64Var(&so.Sessions, "sessions", 100_000, "all: sessions to create in the sessions row (0 skips the row)")
	fs.DurationVar(&so.SessionTime, "sessions-time", 5*time.Minute, "all: bound on the sessions row")
	var cpuProfile string
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the tool's own CPU profile (seeding included) to this file: what the tool takes from the machine it shares with the server")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "atriumload: -cpuprofile: %v\n", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	if invites != "" {
		o.Invitations = strings.Split(invites, ",")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	o.Log = func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }
	if o.Scenario == "all" {
		return runAll(ctx, o, so, asJSON, stdout, stderr)
	}
	rep, err := Load(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "atriumload: %v\n", err)
		return 1
	}
	if asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		_ = e.Encode(rep)
	} else {
		rep.WriteText(stdout)
	}
	if rep.ErrorCount > 0 {
		return 3
	}
	return 0
}

func (o *Options) validate() error {
	var errs []error
	if _, err := checkLoopback(o.URL); err != nil {
		errs = append(errs, err)
	}
	if o.Concurrency < 1 || o.Rate < 0 || o.Warmup < 0 || o.Duration <= 0 || o.MaxRequests < 1 {
		errs = append(errs, errors.New("want -c >= 1, -rate >= 0, -warmup >= 0, -duration > 0, -max-requests >= 1"))
	}
	if o.Layout.Users < 1 || o.Layout.Teams < 0 || o.Layout.ConvsPerUser < 1 {
		errs = append(errs, errors.New("want -users >= 1, -teams >= 0, -convs >= 1"))
	}
	if len(o.Invitations) == 0 && o.AtriumBin == "" {
		errs = append(errs, errors.New("give -invite (from 'atrium tenant create') or -atrium-bin"))
	}
	if o.SeedParallelism < 1 {
		o.SeedParallelism = 1
	}
	if o.MaxTime <= 0 {
		o.MaxTime = o.Warmup + o.Duration + 30*time.Second
	}
	return errors.Join(errs...)
}

// Load seeds, runs o.Scenario and reports.
func Load(ctx context.Context, o Options) (*Report, error) {
	if o.Scenario != "ws" && !slices.Contains(httpScenarios, o.Scenario) {
		return nil, fmt.Errorf("-scenario %q: want one of %s, ws", o.Scenario, strings.Join(httpScenarios, ", "))
	}
	b, err := Prepare(ctx, o)
	if err != nil {
		return nil, err
	}
	return b.Run(ctx, o.Scenario)
}

// Bench is a seeded server, ready for scenarios.
type Bench struct {
	o     Options
	t     *Target
	w     *World
	seed  SeedInfo
	meter *Meter
}

// Prepare checks o, makes the tenants if asked, and seeds them.
func Prepare(ctx context.Context, o Options) (*Bench, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	conns := max(o.Concurrency, o.SeedParallelism) + 16
	t, err := NewTarget(o.URL, o.Origin, conns, nil)
	if err != nil {
		return nil, err
	}
	invs := o.Invitations
	if len(invs) == 0 {
		stamp := strconv.FormatInt(time.Now().Unix(), 36)
		for i := range o.Tenants {
			inv, err := tenantCreate(ctx, o.AtriumBin, fmt.Sprintf("Load %s %d", stamp, i), fmt.Sprintf("load-%s-%d", stamp, i))
			if err != nil {
				return nil, err
			}
			invs = append(invs, inv)
		}
	}
	seedStart := time.Now()
	w, err := Seed(ctx, t, o.Layout, invs, o.SeedParallelism, o.Log)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	w.Spread = o.SpreadTenants
	b := &Bench{o: o, t: t, w: w, seed: SeedInfo{Tenants: len(w.Tenants), UsersPerTenant: o.Layout.Users,
		TeamsPerTenant: o.Layout.Teams, Conversations: len(w.Tenants) * o.Layout.Users * o.Layout.ConvsPerUser,
		Seconds: time.Since(seedStart).Seconds()}}
	server := o.ServerPID
	if server == 0 {
		u, _ := url.Parse(t.Base)
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			port = map[string]int{"http": 80, "https": 443}[u.Scheme]
		}
		server = listener(port)
	}
	procs := []Proc{{Name: "atriumload", PIDs: []int{os.Getpid()}}}
	if server != 0 && server != os.Getpid() {
		procs = append(procs, Proc{Name: "server", PIDs: []int{server}})
	}
	procs = append(procs, Proc{Name: "postgres", Comm: "postgres"}, Proc{Name: "redis-server", Comm: "redis-server"})
	b.meter = NewMeter(procs)
	o.Log("seeded in %.1fs", b.seed.Seconds)
	return b, nil
}

// Run runs one scenario on the seeded data.
func (b *Bench) Run(ctx context.Context, scenario string) (*Report, error) {
	o := b.o
	rep := &Report{Scenario: scenario, Target: b.t.Base, Concurrency: o.Concurrency, Rate: o.Rate,
		Warmup: o.Warmup.Seconds(), Seed: b.seed, Machine: machine()}
	o.Log("running %s", scenario)
	if scenario == "ws" {
		res, err := RunWS(ctx, b.t, b.w, o.WSConns, o.FanOutRounds, o.SeedParallelism*4, o.Warmup, o.Duration, o.RoundTimeout,
			o.MaxTime+time.Duration(o.FanOutRounds)*o.RoundTimeout, b.meter)
		if err != nil {
			return nil, err
		}
		if res.FirstError != "" {
			o.Log("ws: first connection error: %s", res.FirstError)
		}
		rep.fromWS(res)
		return rep, nil
	}
	if n := len(b.w.Users()); (scenario == "login" || scenario == "sessions") && n < o.Concurrency {
		o.Log("only %d passkeys for -c %d: at most %d ceremonies run at once (raise -users)", n, o.Concurrency, n)
	}
	sc, err := NewScenario(ctx, scenario, b.t, b.w, o.Concurrency, o.SeedParallelism)
	if err != nil {
		return nil, err
	}
	var usage []Usage
	res := Run(ctx, Plan{Concurrency: o.Concurrency, Rate: o.Rate, Warmup: o.Warmup, Duration: o.Duration,
		MaxTime: o.MaxTime, MaxRequests: o.MaxRequests}, sc.Op, func(closing bool) {
		if !closing {
			b.meter.Start()
		} else {
			usage = b.meter.Stop()
		}
	})
	rep.fromRun(res, sc, usage)
	if scenario == "sessions" {
		rep.Extra = map[string]any{"sessions_created": sc.OK.Load()}
	}
	return rep, nil
}

func machine() string {
	host, _ := os.Hostname()
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	var load string
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s, %d CPU (%s), %s, load average %s", host, runtime.NumCPU(), model, runtime.Version(), load)
}

// runAll seeds once and runs every row of the suite.
func runAll(ctx context.Context, o Options, so SuiteOptions, asJSON bool, stdout, stderr io.Writer) int {
	steps := Suite(so)
	for _, st := range steps {
		o.Concurrency = max(o.Concurrency, st.C) // sizes the HTTP client's connections
	}
	if n := o.Layout.Users * max(o.Tenants, len(o.Invitations)); n < o.Concurrency {
		o.Log("%d users for %d concurrent sign-ins: the login rows run at most %d at once (use -tenants 2 -users 500)", n, o.Concurrency, n)
	}
	b, err := Prepare(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "atriumload: %v\n", err)
		return 1
	}
	results := b.RunSuite(ctx, steps, so)
	code := 0
	for _, r := range results {
		if !r.Pass {
			code = 3
		}
		if r.Report != nil && !asJSON {
			r.Report.WriteText(stderr) // the detail of each row; the summary goes to stdout
			fmt.Fprintln(stderr)
		}
	}
	if asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		_ = e.Encode(map[string]any{"machine": machine(), "seed": b.seed, "steps": results})
	} else {
		WriteSuite(stdout, machine(), b.seed, results)
	}
	return code
}
