package migrate

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"time"
)

// StatisticsInterval is how often KeepStatistics looks for stale tables.
const StatisticsInterval = 15 * time.Second

// KeepStatistics keeps the planner statistics of the current schema's tables
// fresh on a PostgreSQL server whose autovacuum is off: every interval it
// analyzes the tables that changed by more than autovacuum's own analyze
// threshold since their last ANALYZE (AnalyzeStale). With autovacuum on it
// does nothing: the server analyzes them itself.
//
// Without it, a database with autovacuum off plans every query with the
// statistics of the migration that created its tables (empty): issue #12's
// read row, GET /conversations/{id} at 2,000/s after seeding 5,000
// conversations, spent 3–6 times the PostgreSQL CPU per read and fell
// behind in four of six runs until the tables were analyzed. Nothing
// vacuums them either; KeepStatistics says so once, as a warning.
//
// db is the connecting role's handle (Database.DB), which owns the tables;
// instances take turns through an advisory lock. It returns when ctx ends.
func KeepStatistics(ctx context.Context, db *sql.DB, interval time.Duration, log *slog.Logger) error {
	warned := false
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		off, err := autovacuumOff(ctx, db)
		if err != nil || !off {
			if err != nil && ctx.Err() == nil {
				log.Warn("statistics: cannot read autovacuum's setting", "err", err)
			}
			continue
		}
		if !warned {
			warned = true
			log.Warn("PostgreSQL's autovacuum is off: Atrium analyzes the tables that change, but nothing vacuums them; turn autovacuum on")
		}
		tables, err := AnalyzeStale(ctx, db)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("statistics: analyze failed", "err", err)
		case len(tables) > 0:
			log.Info("statistics: analyzed tables that changed", "tables", strings.Join(tables, ","))
		}
	}
}

func autovacuumOff(ctx context.Context, db *sql.DB) (bool, error) {
	var v string
	err := db.QueryRowContext(ctx, "SELECT current_setting('autovacuum')").Scan(&v)
	return v == "off", err
}

// staleSQL names the current schema's tables whose rows changed by more
// than autovacuum's analyze threshold since they were last analyzed
// (autovacuum_analyze_threshold + autovacuum_analyze_scale_factor ×
// rows, PostgreSQL's own rule, with the server's settings).
const staleSQL = `SELECT format('%I.%I', s.schemaname, s.relname) FROM pg_stat_user_tables s
	JOIN pg_class c ON c.oid = s.relid
	WHERE s.schemaname = current_schema()
	  AND s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
	      + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0)
	ORDER BY 1`

// analyzeLock is the advisory lock of AnalyzeStale: one instance at a time.
const analyzeLock = "SELECT pg_try_advisory_xact_lock(hashtextextended('atrium:analyze', 0))"

// AnalyzeStale analyzes the current schema's tables that changed by more
// than autovacuum's analyze threshold since their last ANALYZE, and returns
// their names; none when another instance is at it. ANALYZE samples a
// bounded number of rows and blocks neither reads nor writes.
func AnalyzeStale(ctx context.Context, db *sql.DB) (tables []string, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var mine bool
	if err := tx.QueryRowContext(ctx, analyzeLock).Scan(&mine); err != nil {
		return nil, err
	}
	if !mine {
		return nil, tx.Rollback()
	}
	if tables, err = analyzeListed(ctx, tx, staleSQL); err != nil {
		return nil, err
	}
	return tables, tx.Commit()
}
