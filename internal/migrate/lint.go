package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	_ "ariga.io/atlas/sql/postgres/postgrescheck" // registers the PostgreSQL analyzers
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
	"ariga.io/atlas/sql/sqlclient"
	"ariga.io/atlas/sql/sqlite"
	_ "ariga.io/atlas/sql/sqlite/sqlitecheck" // registers the SQLite analyzers
	"entgo.io/ent/dialect"
)

// The lint policy is atlas.hcl's lint block: the analyzers below fail lint
// (`atlas migrate lint --env ci` with error = true). Lint runs the same
// analyzers of the atlas library the CLI runs, on the same input, because
// the atlas CLI cannot be installed everywhere Atrium is built (its
// installers download a binary from atlasgo.sh).
var lintErrors = []string{"destructive", "data_depend"}

// LintAllowed is the reviewed allow-list of `atlas:nolint` directives: the
// migration files that may silence lint and the check codes each may name.
// A directive anywhere else, a directive naming a check not listed for its
// file, and a bare or analyzer-wide directive ("atlas:nolint",
// "atlas:nolint data_depend") all fail lint: silencing a check in a new file
// takes a reviewed change here, with the reason next to the entry.
var LintAllowed = map[string][]string{
	// The legacy adoption (docs/migration-runbook.md). Each statement is
	// reviewed in the file: DS103 drops columns whose data was copied
	// first; MF104 sets NOT NULL on columns a validated CHECK constraint
	// already proves non-null (added NOT VALID then validated); MF101 is
	// the per-tenant unique team name replacing the global unique name
	// (dropped just before), which already excluded duplicates.
	"postgres/20261101000600_tenant_constraints.sql": {"DS103", "MF101", "MF104"},
	// Drops the legacy users table after its rows moved to users (step 8).
	"postgres/20261101000700_drop_old_users.sql": {"DS102"},
	// The SQLite rebuild of audit_events adds the hash chain's NOT NULL
	// columns; its INSERT … SELECT fills them for every existing row.
	"sqlite/20261127082802_audit_chain.sql": {"MF103"},
}

// LintDiagnostic is one finding of Lint.
type LintDiagnostic struct {
	File, Code, Text string
	Line             int
	// Silenced is true when an allowed atlas:nolint directive covers it.
	Silenced bool
}

func (d LintDiagnostic) String() string {
	s := fmt.Sprintf("%s:%d: %s: %s", d.File, d.Line, d.Code, d.Text)
	if d.Silenced {
		s += " (atlas:nolint, allowed)"
	}
	return s
}

// Lint replays every migration file of the dialect's directory on an empty
// dev database (devURL, as in Check), computes the schema changes of each
// statement the way `atlas migrate lint` does, and runs atlas's
// destructive and data-dependent analyzers on them. It returns every
// diagnostic, and an error when one is not silenced by an allowed
// atlas:nolint directive (see LintAllowed) or a directive is not allowed.
// The down/ scripts are not linted: they are destructive by design.
func Lint(ctx context.Context, dia, devURL string, opts ...DiffOption) ([]LintDiagnostic, error) {
	local, err := LocalDir(dia, opts...)
	if err != nil {
		return nil, err
	}
	if err := migrate.Validate(local); err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", local.Path(), err)
	}
	files, err := local.Files()
	if err != nil {
		return nil, err
	}
	dirName, _ := DirName(dia)
	db, err := openDev(ctx, dia, devURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	drv, driverName, inspect, err := lintDriver(db, dia)
	if err != nil {
		return nil, err
	}
	r := &schemahcl.Resource{}
	for _, name := range lintErrors {
		r.Children = append(r.Children, &schemahcl.Resource{Type: name, Attrs: []*schemahcl.Attr{schemahcl.BoolAttr("error", false)}})
	}
	all, err := sqlcheck.AnalyzerFor(driverName, r)
	if err != nil {
		return nil, err
	}
	// The policy's analyzers, and the unnamed passes a driver runs before
	// them (SQLite folds its table-rebuild sequence into one change).
	var analyzers []sqlcheck.Analyzer
	named := 0
	for _, a := range all {
		na, ok := a.(sqlcheck.NamedAnalyzer)
		switch {
		case !ok:
			analyzers = append(analyzers, a)
		case slices.Contains(lintErrors, na.Name()):
			analyzers = append(analyzers, a)
			named++
		}
	}
	if named != len(lintErrors) {
		return nil, fmt.Errorf("migrate: lint: the atlas library lacks analyzers %v for %s", lintErrors, dia)
	}
	current, err := drv.InspectRealm(ctx, inspect)
	if err != nil {
		return nil, err
	}
	var (
		diags    []LintDiagnostic
		problems []string
	)
	for _, f := range files {
		name := dirName + "/" + f.Name()
		stmts, err := f.StmtDecls()
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", name, err)
		}
		file := &sqlcheck.File{File: f, From: current}
		for _, st := range stmts {
			if _, err := db.ExecContext(ctx, st.Text); err != nil {
				return nil, fmt.Errorf("migrate: lint: replay %s at line %d: %w", name, line(f, st.Pos), err)
			}
			next, err := drv.InspectRealm(ctx, inspect)
			if err != nil {
				return nil, err
			}
			changes, err := drv.RealmDiff(current, next)
			if err != nil {
				return nil, err
			}
			file.Changes = append(file.Changes, &sqlcheck.Change{Stmt: st, Changes: renames(st, changes)})
			current = next
		}
		file.To = current
		allowed := LintAllowed[name]
		byPos := map[int]*migrate.Stmt{}
		for _, st := range stmts {
			byPos[st.Pos] = st
			for _, d := range st.Directive("nolint") {
				for _, p := range nolintProblems(d, allowed) {
					problems = append(problems, fmt.Sprintf("%s:%d: %s", name, line(f, st.Pos), p))
				}
			}
		}
		if lf, ok := f.(interface{ Directive(string) []string }); ok {
			for _, d := range lf.Directive("nolint") {
				problems = append(problems, fmt.Sprintf("%s: file-wide atlas:nolint %q: name the checks on each statement instead", name, d))
			}
		}
		pass := &sqlcheck.Pass{File: file, Dev: &sqlclient.Client{Name: driverName, DB: db, Driver: drv}, Reporter: sqlcheck.ReportWriterFunc(func(rep sqlcheck.Report) {
			for _, d := range rep.Diagnostics {
				ld := LintDiagnostic{File: name, Code: d.Code, Text: d.Text, Line: line(f, d.Pos)}
				if st := byPos[d.Pos]; st != nil {
					ld.Silenced = silenced(st, d.Code, allowed)
				}
				diags = append(diags, ld)
				if !ld.Silenced {
					problems = append(problems, ld.String())
				}
			}
		})}
		for _, a := range analyzers {
			if err := a.Analyze(ctx, pass); err != nil {
				return diags, fmt.Errorf("migrate: lint %s: %w", name, err)
			}
		}
	}
	if len(problems) > 0 {
		return diags, fmt.Errorf("migrate: lint: %d problem(s) (docs/migrations.md#lint):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return diags, nil
}

// renameRE matches a table rename, which a schema diff sees as a dropped
// and an added table.
var renameRE = regexp.MustCompile("(?is)^\\s*ALTER\\s+TABLE\\s+[`\"]?([^`\"\\s]+)[`\"]?\\s+RENAME\\s+TO\\s+[`\"]?([^`\"\\s;]+)")

// renames turns the drop-and-add a diff shows for an ALTER TABLE … RENAME
// TO statement into the RenameTable change the atlas CLI's statement parser
// reports, so that the analyzers see a rename (SQLite's table-rebuild
// sequence, for one), not a dropped table.
func renames(st *migrate.Stmt, changes schema.Changes) schema.Changes {
	m := renameRE.FindStringSubmatch(st.Text)
	if m == nil || len(changes) != 2 {
		return changes
	}
	var drop *schema.DropTable
	var add *schema.AddTable
	for _, c := range changes {
		switch c := c.(type) {
		case *schema.DropTable:
			drop = c
		case *schema.AddTable:
			add = c
		}
	}
	if drop == nil || add == nil || drop.T.Name != m[1] || add.T.Name != m[2] {
		return changes
	}
	return schema.Changes{&schema.RenameTable{From: drop.T, To: add.T}}
}

// nolintProblems checks one statement's atlas:nolint directive argument
// against the file's allowed codes.
func nolintProblems(d string, allowed []string) []string {
	codes := strings.Fields(d)
	if len(codes) == 0 {
		return []string{"bare atlas:nolint silences every check: name the check codes"}
	}
	var out []string
	for _, c := range codes {
		if !slices.Contains(allowed, c) {
			out = append(out, fmt.Sprintf("atlas:nolint %s is not in the reviewed allow-list for this file (migrate.LintAllowed)", c))
		}
	}
	return out
}

// silenced reports whether st carries an allowed atlas:nolint naming code.
func silenced(st *migrate.Stmt, code string, allowed []string) bool {
	for _, d := range st.Directive("nolint") {
		if slices.Contains(strings.Fields(d), code) && slices.Contains(allowed, code) {
			return true
		}
	}
	return false
}

// line is the 1-based line of byte position pos in f.
func line(f migrate.File, pos int) int {
	b := f.Bytes()
	if pos > len(b) {
		pos = len(b)
	}
	return strings.Count(string(b[:pos]), "\n") + 1
}

func lintDriver(db *sql.DB, dia string) (migrate.Driver, string, *schema.InspectRealmOption, error) {
	switch dia {
	case dialect.Postgres:
		drv, err := postgres.Open(db)
		return drv, postgres.DriverName, &schema.InspectRealmOption{Schemas: []string{"public"}}, err
	case dialect.SQLite:
		drv, err := sqlite.Open(db)
		return drv, sqlite.DriverName, nil, err
	}
	return nil, "", nil, fmt.Errorf("migrate: unsupported dialect %q", dia)
}
