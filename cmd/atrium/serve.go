package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"atrium/internal/app"
	"atrium/internal/config"
	"atrium/internal/telemetry"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: atrium serve\n\nRuns the HTTP server. With no configuration it uses an embedded SQLite\ndatabase in ./data and applies pending migrations itself.\n\nEnvironment (docs/configuration.md):")
		config.WriteHelp(stdout)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitConfig
	}
	cfg, ok := loadConfig(stderr, "atrium serve", (*config.Config).CheckServe)
	if !ok {
		return exitConfig
	}
	tuneGC(os.Getenv)
	log := newLogger(cfg, stderr)
	// The standard log package, go-redis and pgx write through it too.
	telemetry.UseLogger(log)
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFail
	}
	// Run owns the servers and loops (one errgroup) and waits for them; Close
	// then releases what New built, in reverse order.
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.HTTPAddr, "err", err)
		return exitFail
	}
	if err := a.Run(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return exitFail
	}
	return exitOK
}

// serveGCPercent is the garbage collector's target for `atrium serve` when
// GOGC is unset: the heap may grow to three times what is live between
// collections instead of twice, so the server collects half as often. The
// server's live heap is small (tens of MiB) and its requests allocate
// (ent's row scanning above all), so Go's default spent 12-15% of the
// server's CPU in the collector in the list and check rows; at 200 the list
// row served 8% more requests (docs/performance.md) and the memory rows
// kept their margins (10,000 WebSockets 274 MiB, 100,000 sessions 154 MiB).
// GOGC and GOMEMLIMIT set in the environment are Go's, and win.
const serveGCPercent = 200

// tuneGC sets serveGCPercent unless GOGC is set.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
