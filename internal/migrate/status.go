package migrate

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/migrate"
)

// StatusReport describes where a database stands against the directory.
type StatusReport struct {
	Dialect      string
	Current      string   // last version recorded, "" for none
	Applied      int      // files fully applied (baseline included)
	Pending      int      // files still to apply
	PendingFiles []string // their names, in order
	Total        int      // files in the directory
	// Error is the error of the last revision when it is only partially
	// applied (a failed file); apply retries it.
	Error string
}

// OK reports whether nothing is pending and nothing failed.
func (s StatusReport) OK() bool { return s.Pending == 0 && s.Error == "" }

// Status compares the revision table with the embedded directory (or the one
// of WithDir; other options are ignored). It reads only: it neither creates
// the revision table nor takes the lock.
func Status(ctx context.Context, db *sql.DB, dia string, opts ...Option) (StatusReport, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := o.dir
	if dir == nil {
		var err error
		if dir, err = Dir(dia); err != nil {
			return StatusReport{}, err
		}
	}
	return status(ctx, db, dia, dir)
}

// Pending returns the number of files Apply would run.
func Pending(ctx context.Context, db *sql.DB, dia string, opts ...Option) (int, error) {
	s, err := Status(ctx, db, dia, opts...)
	return s.Pending, err
}

func status(ctx context.Context, db *sql.DB, dia string, dir migrate.Dir) (StatusReport, error) {
	rep := StatusReport{Dialect: dia}
	if err := migrate.Validate(dir); err != nil {
		return rep, fmt.Errorf("migrate: %w", err)
	}
	files, err := dir.Files()
	if err != nil {
		return rep, err
	}
	rep.Total = len(files)
	var revs []*migrate.Revision
	exists, err := revisionTableExists(ctx, db, dia)
	if err != nil {
		return rep, fmt.Errorf("migrate: %w", err)
	}
	if exists {
		rrw := &revisions{q: db, dialect: dia}
		if revs, err = rrw.ReadRevisions(ctx); err != nil {
			return rep, fmt.Errorf("migrate: read revisions: %w", err)
		}
	}
	done := make(map[string]bool, len(revs))
	for _, r := range revs {
		done[r.Version] = r.Applied == r.Total || r.Type&migrate.RevisionTypeBaseline != 0
	}
	var last *migrate.Revision
	if n := len(revs); n > 0 {
		last = revs[n-1]
		rep.Current = last.Version
		if last.Applied != last.Total && last.Type&migrate.RevisionTypeBaseline == 0 {
			rep.Error = last.Error
			if rep.Error == "" {
				rep.Error = fmt.Sprintf("version %s partially applied (%d of %d statements)", last.Version, last.Applied, last.Total)
			}
		}
	}
	for _, f := range files {
		v := f.Version()
		switch {
		case done[v]:
			rep.Applied++
		case len(revs) > 0 && revs[0].Type&migrate.RevisionTypeBaseline != 0 && v < revs[0].Version:
			rep.Applied++ // covered by the baseline
		default:
			rep.Pending++
			rep.PendingFiles = append(rep.PendingFiles, f.Name())
		}
	}
	return rep, nil
}
