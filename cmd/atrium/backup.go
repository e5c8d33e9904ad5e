package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"entgo.io/ent/dialect"

	"atrium/internal/config"
	"atrium/internal/migrate"
)

const backupUsage = `Usage: atrium backup --out FILE

Writes a consistent copy of the embedded SQLite database (ATRIUM_DATA_DIR/atrium.db)
to FILE with SQLite's VACUUM INTO: online (the server keeps serving; the copy is
one read transaction's snapshot), compacted, and without a -wal file to carry
along. FILE must not exist yet. Keep the key-encryption key (ATRIUM_KEY_ENCRYPTION_KEY,
or ATRIUM_DATA_DIR/kek) beside it, stored separately: without it the signing keys
in the backup cannot be decrypted.

With PostgreSQL (ATRIUM_DATABASE_URL) use pg_dump or continuous archiving / PITR;
see docs/deployment.md#backups.
`

const restoreUsage = `Usage: atrium restore --from FILE [--force]

Replaces the embedded SQLite database (ATRIUM_DATA_DIR/atrium.db) with a backup
from 'atrium backup'. FILE is checked first: a SQLite database that passes
PRAGMA quick_check, has Atrium's tables and migration history, and no migration
this binary does not know (a backup from a newer release is refused). Pending
migrations of an older backup are applied by 'atrium migrate apply' or on the
next 'atrium serve'.

An existing database is never overwritten without --force. Stop every atrium
process using the data directory first: with --force, restore refuses while
another connection holds a write transaction, and moves the old database (and
its -wal/-shm files) aside as atrium.db.before-restore-TIMESTAMP, never deleting it.
`

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage) }
	out := fs.String("out", "", "write the backup to `FILE` (must not exist)")
	if code, ok := parseKeysFlags(fs, args); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "atrium backup: --out is required")
		return exitConfig
	}
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "atrium backup: invalid configuration:\n%v\n", err)
		return exitConfig
	}
	if cfg.IsPostgres() {
		fmt.Fprintln(stderr, "atrium backup: the database is PostgreSQL: back it up with pg_dump (or PITR) and keep the KEK beside it; see docs/deployment.md#backups")
		return exitConfig
	}
	if err := backupSQLite(ctx, cfg.SQLitePath(), *out); err != nil {
		fmt.Fprintln(stderr, "atrium backup:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", cfg.SQLitePath(), *out)
	return exitOK
}

// backupSQLite copies the database at src to dst with VACUUM INTO.
func backupSQLite(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database to back up: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s exists; choose a new file", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("vacuum into %s: %w", dst, err)
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return err
	}
	if _, err := checkBackup(ctx, dst); err != nil {
		return fmt.Errorf("the copy does not check out: %w", err)
	}
	return nil
}

// checkBackup opens file read-only and makes sure it is an Atrium database
// whose every applied migration this binary knows. It returns the newest
// applied version.
func checkBackup(ctx context.Context, file string) (string, error) {
	st, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", file)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil {
		return "", fmt.Errorf("%s is not a SQLite database: %w", file, err)
	}
	if ok != "ok" {
		return "", fmt.Errorf("%s is damaged: quick_check: %s", file, ok)
	}
	for _, table := range []string{"atlas_schema_revisions", "tenants", "users", "audit_events", "signing_keys"} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return "", fmt.Errorf("%s is not an Atrium database: no table %s", file, table)
		}
	}
	dir, err := migrate.Dir(dialect.SQLite)
	if err != nil {
		return "", err
	}
	files, err := dir.Files()
	if err != nil {
		return "", err
	}
	known := make(map[string]bool, len(files))
	for _, f := range files {
		known[f.Version()] = true
	}
	rows, err := db.QueryContext(ctx, "SELECT version FROM atlas_schema_revisions ORDER BY version")
	if err != nil {
		return "", fmt.Errorf("%s: migration history: %w", file, err)
	}
	defer rows.Close()
	var latest string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return "", err
		}
		if !known[v] {
			return "", fmt.Errorf("%s has migration %s, which this atrium does not know: restore it with the release that wrote it", file, v)
		}
		latest = v
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if latest == "" {
		return "", fmt.Errorf("%s has no applied migrations", file)
	}
	return latest, nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, restoreUsage) }
	from := fs.String("from", "", "the backup `FILE` to restore")
	force := fs.Bool("force", false, "replace an existing database (moved aside, not deleted)")
	if code, ok := parseKeysFlags(fs, args); !ok {
		return code
	}
	if *from == "" {
		fmt.Fprintln(stderr, "atrium restore: --from is required")
		return exitConfig
	}
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "atrium restore: invalid configuration:\n%v\n", err)
		return exitConfig
	}
	if cfg.IsPostgres() {
		fmt.Fprintln(stderr, "atrium restore: the database is PostgreSQL: restore with pg_restore (or PITR); see docs/deployment.md#backups")
		return exitConfig
	}
	version, err := checkBackup(ctx, *from)
	if err != nil {
		fmt.Fprintln(stderr, "atrium restore:", err)
		return exitFail
	}
	aside, err := restoreSQLite(ctx, *from, cfg.SQLitePath(), *force, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "atrium restore:", err)
		return exitFail
	}
	if aside != "" {
		fmt.Fprintf(stdout, "moved the previous database aside to %s\n", aside)
	}
	fmt.Fprintf(stdout, "restored %s from %s (migration %s)\n", cfg.SQLitePath(), *from, version)
	return exitOK
}

// restoreSQLite copies the checked backup from over target. An existing
// target is refused without force; with force it must be idle and is moved
// aside. The copy goes to a temporary file in target's directory, is synced
// and renamed into place, so target is never half-written.
func restoreSQLite(ctx context.Context, from, target string, force bool, now time.Time) (aside string, err error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".restore-*.db")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	src, err := os.Open(from)
	if err != nil {
		tmp.Close()
		return "", err
	}
	_, err = io.Copy(tmp, src)
	src.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", from, err)
	}
	if _, err := os.Stat(target); err == nil {
		if !force {
			return "", fmt.Errorf("%s exists: stop atrium and pass --force to replace it (it is moved aside, not deleted)", target)
		}
		if err := checkIdle(ctx, target); err != nil {
			return "", err
		}
		aside = fmt.Sprintf("%s.before-restore-%s", target, now.UTC().Format("20060102T150405Z"))
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(target+suffix, aside+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("move the old database aside: %w", err)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return aside, err
	}
	return aside, nil
}

// checkIdle fails if another connection is writing to the database at path:
// it takes SQLite's exclusive lock without waiting and folds the WAL back
// into the database file. An idle server holds no lock SQLite can see, so
// this is a safety net, not a substitute for stopping the server.
func checkIdle(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		return fmt.Errorf("%s is in use (%v): stop every atrium process first", path, err)
	}
	_, _ = conn.ExecContext(ctx, "COMMIT")
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("%s is in use (%v): stop every atrium process first", path, err)
	}
	return nil
}
