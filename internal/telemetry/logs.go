package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/tracelog"
	"github.com/redis/go-redis/v9"
)

// UseLogger makes log the process's default logger, which is where the
// standard library's log package, go-redis and pgx write (through the
// adapters below): one JSON (or text) stream, one record per line, never
// the plain multi-line output those packages make on their own. go-redis's
// logger is process-wide, so this is for main, not for each App.
func UseLogger(log *slog.Logger) {
	slog.SetDefault(log) // also redirects the standard log package
	redis.SetLogger(RedisLogger{})
}

// RedisLogger writes go-redis's messages (reconnections, pool and
// push-notification trouble) as one warning record on the default logger.
type RedisLogger struct{}

// Printf implements go-redis's internal.Logging.
func (RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	slog.Default().WarnContext(ctx, "redis client", "component", "redis", "detail", msg)
}

// PgxTracer is a pgx tracer that logs what pgx reports as errors on the
// default logger: failed connections as warnings, failed statements at debug
// (the caller sees the error and logs it with the request when it matters;
// a unique violation is an expected 409). Statement arguments are never
// logged (they carry personal data); the statement text is.
func PgxTracer() *tracelog.TraceLog {
	return &tracelog.TraceLog{Logger: tracelog.LoggerFunc(logPgx), LogLevel: tracelog.LogLevelError}
}

func logPgx(ctx context.Context, level tracelog.LogLevel, msg string, data map[string]any) {
	lvl := slog.LevelDebug
	if msg == "Connect" && level <= tracelog.LogLevelWarn {
		lvl = slog.LevelWarn
	}
	log := slog.Default()
	if !log.Enabled(ctx, lvl) {
		return
	}
	attrs := []slog.Attr{slog.String("component", "pgx"), slog.String("pgx_level", level.String())}
	for k, v := range data {
		switch k {
		case "args":
			continue // personal data
		case "err":
			if err, ok := v.(error); ok {
				v = err.Error()
			}
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	log.LogAttrs(ctx, lvl, "pgx "+msg, attrs...)
}
