package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

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

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
