package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
)

// RevisionTable is the name of the revision table, and on PostgreSQL also of
// the schema holding it: the atlas CLI stores its revisions in a schema of its
// own when connected to a database (not a schema), and so do we.
const RevisionTable = "atlas_schema_revisions"

// revisionColumns mirror the atlas CLI's revision table column for column:
// the CLI describes it as an ent schema (cmd/atlas/internal/migrate/ent) and
// creates it through ent, so describing it the same way and converting it with
// the same ent version yields the same column types on every dialect.
var revisionColumns = []*entschema.Column{
	{Name: "version", Type: field.TypeString},
	{Name: "description", Type: field.TypeString},
	{Name: "type", Type: field.TypeUint, Default: 2},
	{Name: "applied", Type: field.TypeInt, Default: 0},
	{Name: "total", Type: field.TypeInt, Default: 0},
	{Name: "executed_at", Type: field.TypeTime},
	{Name: "execution_time", Type: field.TypeInt64},
	{Name: "error", Type: field.TypeString, Nullable: true, Size: 2147483647},
	{Name: "error_stmt", Type: field.TypeString, Nullable: true, Size: 2147483647},
	{Name: "hash", Type: field.TypeString},
	{Name: "partial_hashes", Type: field.TypeJSON, Nullable: true},
	{Name: "operator_version", Type: field.TypeString},
}

// RevisionColumns lists the revision table's columns in order.
func RevisionColumns() []string {
	names := make([]string, len(revisionColumns))
	for i, c := range revisionColumns {
		names[i] = c.Name
	}
	return names
}

func revisionEntTable() *entschema.Table {
	return &entschema.Table{
		Name:       RevisionTable,
		Columns:    revisionColumns,
		PrimaryKey: []*entschema.Column{revisionColumns[0]},
	}
}

// revisions implements migrate.RevisionReadWriter on the CLI's table with
// plain SQL, so it works on a *sql.DB as well as inside a file's transaction.
type revisions struct {
	q       schema.ExecQuerier
	dialect string
	// readOnly makes writes no-ops (dry runs).
	readOnly bool
	// last is the last revision written, kept so a failed file's record can be
	// rewritten after its transaction rolled back.
	last *migrate.Revision
}

var _ migrate.RevisionReadWriter = (*revisions)(nil)

// Ident implements migrate.RevisionReadWriter.
func (r *revisions) Ident() *migrate.TableIdent {
	if r.dialect == dialect.Postgres {
		return &migrate.TableIdent{Name: RevisionTable, Schema: RevisionTable}
	}
	return &migrate.TableIdent{Name: RevisionTable}
}

func (r *revisions) table() string {
	if r.dialect == dialect.Postgres {
		return `"` + RevisionTable + `"."` + RevisionTable + `"`
	}
	return "`" + RevisionTable + "`"
}

// arg returns the n-th (1-based) placeholder of the dialect.
func (r *revisions) arg(n int) string {
	if r.dialect == dialect.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

const revisionSelect = "SELECT version, description, type, applied, total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, operator_version FROM "

// ReadRevisions implements migrate.RevisionReadWriter. Like the CLI it skips
// the ".atlas_cloud_identifier" row, which is not a migration.
func (r *revisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	rows, err := r.q.QueryContext(ctx, revisionSelect+r.table()+" WHERE version <> "+r.arg(1)+" ORDER BY version", cloudIdentifier)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var revs []*migrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev)
	}
	return revs, rows.Err()
}

// cloudIdentifier is the CLI's row holding the revision table's identifier.
const cloudIdentifier = ".atlas_cloud_identifier"

// ReadRevision implements migrate.RevisionReadWriter.
func (r *revisions) ReadRevision(ctx context.Context, version string) (*migrate.Revision, error) {
	rows, err := r.q.QueryContext(ctx, revisionSelect+r.table()+" WHERE version = "+r.arg(1), version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, migrate.ErrRevisionNotExist
	}
	return scanRevision(rows)
}

func scanRevision(rows *sql.Rows) (*migrate.Revision, error) {
	var (
		rev              migrate.Revision
		typ              int64
		execTime         int64
		errText, errStmt sql.NullString
		partial          []byte
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total,
		&rev.ExecutedAt, &execTime, &errText, &errStmt, &rev.Hash, &partial, &rev.OperatorVersion); err != nil {
		return nil, fmt.Errorf("scan revision: %w", err)
	}
	rev.Type = migrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execTime)
	rev.Error, rev.ErrorStmt = errText.String, errStmt.String
	if len(partial) > 0 && string(partial) != "null" {
		if err := json.Unmarshal(partial, &rev.PartialHashes); err != nil {
			return nil, fmt.Errorf("revision %s: partial_hashes: %w", rev.Version, err)
		}
	}
	return &rev, nil
}

// WriteRevision implements migrate.RevisionReadWriter as an upsert.
func (r *revisions) WriteRevision(ctx context.Context, rev *migrate.Revision) error {
	cp := *rev
	cp.PartialHashes = append([]string(nil), rev.PartialHashes...)
	r.last = &cp
	if r.readOnly {
		return nil
	}
	if rev.Version == cloudIdentifier {
		return errors.New("writing the revision-table identifier is not allowed")
	}
	var partial any // NULL, as the CLI stores an empty list
	if len(rev.PartialHashes) > 0 {
		b, err := json.Marshal(rev.PartialHashes)
		if err != nil {
			return err
		}
		partial = string(b)
	}
	cols := RevisionColumns()
	ph := make([]string, len(cols))
	set := make([]string, 0, len(cols)-1)
	for i, c := range cols {
		ph[i] = r.arg(i + 1)
		if i > 0 {
			set = append(set, c+" = excluded."+c)
		}
	}
	if r.dialect == dialect.Postgres {
		ph[10] += "::jsonb"
	}
	q := "INSERT INTO " + r.table() + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") +
		") ON CONFLICT (version) DO UPDATE SET " + strings.Join(set, ", ")
	_, err := r.q.ExecContext(ctx, q,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total,
		rev.ExecutedAt, int64(rev.ExecutionTime), nullString(rev.Error), nullString(rev.ErrorStmt),
		rev.Hash, partial, rev.OperatorVersion)
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DeleteRevision implements migrate.RevisionReadWriter.
func (r *revisions) DeleteRevision(ctx context.Context, version string) error {
	if r.readOnly {
		return nil
	}
	_, err := r.q.ExecContext(ctx, "DELETE FROM "+r.table()+" WHERE version = "+r.arg(1), version)
	return err
}

// revisionTableExists reports whether the revision table is there.
func revisionTableExists(ctx context.Context, db schema.ExecQuerier, dia string) (bool, error) {
	var q string
	switch dia {
	case dialect.Postgres:
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $1"
	default:
		q = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	}
	rows, err := db.QueryContext(ctx, q, RevisionTable)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, err
		}
	}
	return n > 0, rows.Err()
}

// ensureRevisionTable creates the revision table (and on PostgreSQL its
// schema) when missing, with the types ent gives the CLI's definition.
func ensureRevisionTable(ctx context.Context, db *sql.DB, drv migrate.Driver, dia string) error {
	ok, err := revisionTableExists(ctx, db, dia)
	if err != nil || ok {
		return err
	}
	m, err := entschema.NewMigrate(entsql.OpenDB(dia, db))
	if err != nil {
		return err
	}
	realm, err := m.StateReader(revisionEntTable()).ReadState(ctx)
	if err != nil {
		return fmt.Errorf("describe revision table: %w", err)
	}
	t, ok := realm.Schemas[0].Table(RevisionTable)
	if !ok {
		return errors.New("describe revision table: table missing")
	}
	var (
		changes []schema.Change
		opts    []migrate.PlanOption
	)
	switch dia {
	case dialect.Postgres:
		s := schema.New(RevisionTable).AddTables(t)
		changes = append(changes, &schema.AddSchema{S: s, Extra: []schema.Clause{&schema.IfNotExists{}}},
			&schema.AddTable{T: t, Extra: []schema.Clause{&schema.IfNotExists{}}})
	default:
		schema.New("main").AddTables(t)
		changes = append(changes, &schema.AddTable{T: t})
		opts = append(opts, func(o *migrate.PlanOptions) { o.SchemaQualifier = new(string) })
	}
	plan, err := drv.PlanChanges(ctx, "revisions", changes, opts...)
	if err != nil {
		return fmt.Errorf("create revision table: %w", err)
	}
	for _, c := range plan.Changes {
		cmd := c.Cmd
		if dia == dialect.SQLite {
			// SQLite appliers are not serialised by a lock; and this atlas
			// version misplaces IF NOT EXISTS for SQLite, so add it here.
			cmd = strings.Replace(cmd, "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
		}
		if _, err := db.ExecContext(ctx, cmd, c.Args...); err != nil {
			return fmt.Errorf("create revision table: %w", err)
		}
	}
	return nil
}
