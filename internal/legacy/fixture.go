package legacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"time"

	"atrium/migrations"
)

// RefTime is the fixed "now" of the fixture: every timestamp lies in the year
// before it, so the same seed gives the same rows whenever it runs.
var RefTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// ErrMigrated is returned when the database already has Atrium migrations
// applied beyond the legacy baseline: it is no longer a legacy database.
var ErrMigrated = errors.New("legacy: the database has Atrium migrations applied beyond the legacy baseline " + BaselineVersion + "; the fixture is for legacy databases only")

// BaselineSQL returns the legacy schema, the embedded migration file of
// BaselineVersion.
func BaselineSQL() (string, error) {
	names, err := fs.Glob(migrations.FS, "postgres/"+BaselineVersion+"_*.sql")
	if err != nil {
		return "", err
	}
	if len(names) != 1 {
		return "", fmt.Errorf("legacy: want one embedded migration postgres/%s_*.sql, found %d", BaselineVersion, len(names))
	}
	b, err := fs.ReadFile(migrations.FS, names[0])
	return string(b), err
}

// CreateSchema creates the legacy schema on an empty PostgreSQL database by
// running the baseline migration, without recording any revision: that is
// what a real legacy database looks like. It refuses a database that already
// has any legacy table, or Atrium migrations beyond the baseline.
func CreateSchema(ctx context.Context, db *sql.DB) error {
	if err := checkNotMigrated(ctx, db); err != nil {
		return err
	}
	for _, t := range Tables {
		ok, err := tableExists(ctx, db, t)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("legacy: table %s already exists; the legacy schema is created on an empty database only", t)
		}
	}
	ddl, err := BaselineSQL()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Without arguments pgx sends the file with the simple protocol, which
	// runs several statements at once.
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("legacy: create schema: %w", err)
	}
	return tx.Commit()
}

// FixtureOptions says how much legacy data Fill generates. Counts are rows.
type FixtureOptions struct {
	Users int
	// Admins is the number of users with is_admin, spread evenly over the
	// users: 0 means max(1, Users/50), a negative number none.
	Admins        int
	Conversations int
	// MessagesPerConversation alternates user and assistant messages: 0
	// means 4, a negative number none.
	MessagesPerConversation int
	Documents               int
	Agents                  int
	Teams                   int
	KnowledgeGraphs         int
	// Seed selects the data: the same options and seed give identical rows.
	Seed int64
	// BatchSize is the number of rows per INSERT statement: 0 means 100,000.
	BatchSize int
}

// withDefaults resolves the zero values.
func (o FixtureOptions) withDefaults() FixtureOptions {
	switch {
	case o.Admins == 0:
		o.Admins = max(1, o.Users/50)
	case o.Admins < 0:
		o.Admins = 0
	}
	o.Admins = min(o.Admins, o.Users)
	switch {
	case o.MessagesPerConversation == 0:
		o.MessagesPerConversation = 4
	case o.MessagesPerConversation < 0:
		o.MessagesPerConversation = 0
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100_000
	}
	return o
}

// Validate reports every invalid option at once.
func (o FixtureOptions) Validate() error {
	var errs []error
	for _, c := range []struct {
		name string
		n    int
	}{{"users", o.Users}, {"conversations", o.Conversations}, {"documents", o.Documents}, {"agents", o.Agents}, {"teams", o.Teams}, {"knowledge graphs", o.KnowledgeGraphs}} {
		if c.n < 0 {
			errs = append(errs, fmt.Errorf("%s: want >= 0, got %d", c.name, c.n))
		}
	}
	if o.Conversations > 0 && o.Users <= 0 {
		errs = append(errs, errors.New("conversations need users: want users >= 1"))
	}
	if o.Admins > o.Users && o.Users > 0 {
		errs = append(errs, fmt.Errorf("admins: want at most users (%d), got %d", o.Users, o.Admins))
	}
	if o.MessagesPerConversation > 1000 {
		errs = append(errs, fmt.Errorf("messages per conversation: want at most 1000, got %d", o.MessagesPerConversation))
	}
	// Row indexes are hashed as 32-bit integers.
	if n := int64(o.Conversations) * int64(o.withDefaults().MessagesPerConversation); n > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("messages: want at most %d, got %d", math.MaxInt32, n))
	}
	return errors.Join(errs...)
}

// TableReport is what Fill did to one table.
type TableReport struct {
	Table    string
	Rows     int64
	Duration time.Duration
}

// FixtureReport is what Fill did.
type FixtureReport struct {
	Tables   []TableReport
	Vacuum   time.Duration // VACUUM (ANALYZE) after the fill
	Duration time.Duration // in all
}

// Rows returns the number of rows inserted in all.
func (r FixtureReport) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Rows
	}
	return n
}

// Fill fills the empty tables of a legacy database with realistic,
// deterministic data: the same options and seed give identical rows, ids
// included, so checksums over the tables are reproducible. Rows are generated
// by the server in batches of INSERT … SELECT … FROM generate_series, all in
// one transaction: a failed fill leaves the tables empty. The tables are
// vacuumed and analyzed afterwards.
//
// Timestamps lie in the year before RefTime: a user before their
// conversations, a conversation's messages after it, updated_at at or after
// created_at.
//
// Inserting into indexed tables, with a foreign key check per row, would
// take several times longer: Fill drops the tables' keys and indexes first
// and recreates them, by name and definition as it found them, after each
// table is filled. The schema is the same afterwards.
func Fill(ctx context.Context, db *sql.DB, o FixtureOptions) (FixtureReport, error) {
	start := time.Now()
	var rep FixtureReport
	if err := o.Validate(); err != nil {
		return rep, fmt.Errorf("legacy: %w", err)
	}
	o = o.withDefaults()
	if err := checkNotMigrated(ctx, db); err != nil {
		return rep, err
	}
	for _, t := range Tables {
		ok, err := tableExists(ctx, db, t)
		if err != nil {
			return rep, err
		}
		if !ok {
			return rep, fmt.Errorf("legacy: table %s does not exist; create the legacy schema first", t)
		}
		var nonEmpty bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM "`+t+`")`).Scan(&nonEmpty); err != nil {
			return rep, err
		}
		if nonEmpty {
			return rep, fmt.Errorf("legacy: table %s is not empty; the fixture fills empty legacy tables only", t)
		}
	}

	g := gen{o: o}
	steps := []struct {
		table string
		rows  int // rows to insert
		per   int // rows per unit of the series (messages: per conversation)
		stmt  string
	}{
		{"old_users", o.Users, 1, g.users()},
		{"conversations", o.Conversations, 1, g.conversations()},
		{"messages", o.Conversations * o.MessagesPerConversation, o.MessagesPerConversation, g.messages()},
		{"documents", o.Documents, 1, g.documents()},
		{"agents", o.Agents, 1, g.agents()},
		{"teams", o.Teams, 1, g.teams()},
		{"knowledge_graphs", o.KnowledgeGraphs, 1, g.knowledgeGraphs()},
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback()
	// For the index builds; the server's default is often 64MB.
	if _, err := tx.ExecContext(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return rep, err
	}
	keys, err := dropKeys(ctx, tx)
	if err != nil {
		return rep, err
	}
	for _, s := range steps {
		t0 := time.Now()
		tr := TableReport{Table: s.table}
		if s.rows > 0 {
			units := s.rows / s.per
			step := max(1, o.BatchSize/s.per)
			for lo := 1; lo <= units; lo += step {
				hi := min(units, lo+step-1)
				res, err := tx.ExecContext(ctx, s.stmt, lo, hi)
				if err != nil {
					return rep, fmt.Errorf("legacy: fill %s rows %d-%d: %w", s.table, lo, hi, err)
				}
				n, err := res.RowsAffected()
				if err != nil {
					return rep, err
				}
				tr.Rows += n
			}
		}
		// Parents come first, so the foreign keys find their targets' keys.
		for _, stmt := range keys[s.table] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return rep, fmt.Errorf("legacy: recreate %s: %w", stmt, err)
			}
		}
		tr.Duration = time.Since(t0)
		rep.Tables = append(rep.Tables, tr)
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("legacy: commit: %w", err)
	}
	// As autovacuum long would have on a real legacy database, and so that
	// it does not start in the middle of whatever is measured next.
	t0 := time.Now()
	for _, t := range Tables {
		if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) "`+t+`"`); err != nil {
			return rep, fmt.Errorf("legacy: vacuum %s: %w", t, err)
		}
	}
	rep.Vacuum = time.Since(t0)
	rep.Duration = time.Since(start)
	return rep, nil
}

// dropKeys drops the primary keys, unique constraints, foreign keys and
// other indexes of the legacy tables and returns, per table, the statements
// that recreate them as they were: keys, then indexes, then foreign keys.
func dropKeys(ctx context.Context, tx *sql.Tx) (map[string][]string, error) {
	type def struct{ table, drop, create string }
	var keys, indexes, fkeys []def
	rows, err := tx.QueryContext(ctx, `SELECT t.relname, c.conrelid::regclass::text, quote_ident(c.conname), c.contype::text, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.conrelid = ANY ($1::text[]::regclass[]) AND c.contype IN ('p', 'u', 'f')
ORDER BY t.relname, c.conname`, Tables)
	if err != nil {
		return nil, fmt.Errorf("legacy: read constraints: %w", err)
	}
	for rows.Next() {
		var table, qtable, name, typ, body string
		if err := rows.Scan(&table, &qtable, &name, &typ, &body); err != nil {
			rows.Close()
			return nil, err
		}
		d := def{table, "ALTER TABLE " + qtable + " DROP CONSTRAINT " + name, "ALTER TABLE " + qtable + " ADD CONSTRAINT " + name + " " + body}
		if typ == "f" {
			fkeys = append(fkeys, d)
		} else {
			keys = append(keys, d)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT t.relname, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE i.indrelid = ANY ($1::text[]::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY t.relname, 2`, Tables)
	if err != nil {
		return nil, fmt.Errorf("legacy: read indexes: %w", err)
	}
	for rows.Next() {
		var table, index, create string
		if err := rows.Scan(&table, &index, &create); err != nil {
			rows.Close()
			return nil, err
		}
		indexes = append(indexes, def{table, "DROP INDEX " + index, create})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	recreate := map[string][]string{}
	for _, list := range [][]def{fkeys, indexes, keys} {
		for _, d := range list {
			if _, err := tx.ExecContext(ctx, d.drop); err != nil {
				return nil, fmt.Errorf("legacy: %s: %w", d.drop, err)
			}
		}
	}
	for _, list := range [][]def{keys, indexes, fkeys} {
		for _, d := range list {
			recreate[d.table] = append(recreate[d.table], d.create)
		}
	}
	return recreate, nil
}

// tableExists reports whether the table exists in the search path.
func tableExists(ctx context.Context, db *sql.DB, table string) (bool, error) {
	var ok bool
	err := db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", `"`+table+`"`).Scan(&ok)
	return ok, err
}

// checkNotMigrated returns ErrMigrated when a revision table (of Atrium or
// of the atlas CLI, in whatever schema) records a version after the
// baseline. A revision table holding the baseline alone is still legacy.
func checkNotMigrated(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'atlas_schema_revisions' ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("legacy: look for revision tables: %w", err)
	}
	var schemas []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		schemas = append(schemas, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range schemas {
		var v sql.NullString
		q := fmt.Sprintf(`SELECT max(version) FROM %s.atlas_schema_revisions WHERE version > $1`, quoteIdent(s))
		if err := db.QueryRowContext(ctx, q, BaselineVersion).Scan(&v); err != nil {
			return fmt.Errorf("legacy: read revisions in schema %s: %w", s, err)
		}
		if v.Valid {
			return fmt.Errorf("%w (version %s in %s.atlas_schema_revisions)", ErrMigrated, v.String, s)
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// gen builds the INSERT … SELECT statements of a fixture. Each takes the
// bounds of its series as $1 and $2 (1-based, inclusive); the options are
// integers written into the SQL.
//
// Every value of row i of a kind is a function of (seed, kind, i): random
// numbers are hashint8extended(i, salt), PostgreSQL's 64-bit hash of an
// integer, with a salt derived in Go from the seed, the kind and what the
// number is for. Hash partitioning depends on that function, so PostgreSQL
// keeps it stable across versions, and it hashes the integer's value, not
// its bytes, so it is the same on every platform. It is cheap, where md5
// would cost more than the insert itself. Derived tables end in OFFSET 0 so
// that the planner computes their columns once rather than once per
// reference.
type gen struct{ o FixtureOptions }

// year is the span of the fixture's timestamps, in seconds; users are at
// least a day old.
const (
	year = 365 * day
	day  = 24 * 3600
)

// salt returns the hash seed of one kind of random number.
func (g gen) salt(kind string, n int) int64 {
	h := uint64(14695981039346656037) // FNV-1a of the kind and n, mixed with the seed by splitmix64
	for _, b := range []byte(fmt.Sprintf("%s:%d", kind, n)) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	z := h + uint64(g.o.Seed)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int64(z ^ (z >> 31))
}

// rnd is the SQL of a non-negative random bigint, number n of row idx of a
// kind.
func (g gen) rnd(kind string, n int, idx string) string {
	return fmt.Sprintf("(hashint8extended(%s, %d) & 9223372036854775807)", idx, g.salt(kind, n))
}

// id is the SQL of the id of row idx of a kind: a version 4 UUID made of two
// random numbers.
func (g gen) id(kind, idx string) string {
	return fmt.Sprintf("encode(int8send(hashint8extended(%[1]s, %[2]d) & -61441 | 16384) || int8send(hashint8extended(%[1]s, %[3]d) & 4611686018427387903 | -9223372036854775808), 'hex')::uuid",
		idx, g.salt(kind, -1), g.salt(kind, -2))
}

// pick is the SQL of an element of words chosen by the non-negative integer
// SQL expression r.
func pick(words []string, r string) string {
	return fmt.Sprintf("(ARRAY[%s])[1 + %s %% %d]", quoteAll(words), r, len(words))
}

// ts is the SQL of the timestamp secs seconds before RefTime.
func ts(secs string) string {
	return fmt.Sprintf("to_timestamp(%d - (%s))", RefTime.Unix(), secs)
}

// stamps is the SQL of the created_at and updated_at of row s.i of a kind
// other than users, conversations and messages: created some time in the
// year, updated between then and RefTime.
func (g gen) stamps(kind string) string {
	age := fmt.Sprintf("%s %% %d", g.rnd(kind, 100, "s.i"), year)
	return ts(age) + ", " + ts(fmt.Sprintf("%s - %s %% (%s + 1)", age, g.rnd(kind, 101, "s.i"), age))
}

// series is the SQL of the batch's indexes, as the derived table s.
const series = "generate_series($1::bigint, $2::bigint) AS s(i)"

// userAge is the SQL of how many seconds before RefTime user idx was
// created; conversations use it to start after their user.
func (g gen) userAge(idx string) string {
	return fmt.Sprintf("(%d + %s %% %d)", day, g.rnd("user", 0, idx), year-day)
}

func (g gen) users() string {
	name := fmt.Sprintf("CASE WHEN %s %% 25 = 0 THEN '' ELSE %s || ' ' || %s END",
		g.rnd("user", 3, "s.i"), pick(firstNames, g.rnd("user", 1, "s.i")), pick(lastNames, g.rnd("user", 2, "s.i")))
	admin := "false"
	if g.o.Admins > 0 {
		// Exactly Admins of the users, evenly spread.
		admin = fmt.Sprintf("(s.i * %d) / %d <> ((s.i - 1) * %d) / %d", g.o.Admins, g.o.Users, g.o.Admins, g.o.Users)
	}
	return fmt.Sprintf(`INSERT INTO "old_users" ("id", "email", "name", "is_admin", "created_at")
SELECT %s, 'user' || lpad(s.i::text, greatest(6, length(s.i::text)), '0') || '@legacy.example', %s, %s, %s
FROM %s`,
		g.id("user", "s.i"), name, admin, ts(g.userAge("s.i")), series)
}

// conversation is the SQL of the derived table c with one row per
// conversation of the batch: i, u (the index of its user), gap (seconds
// between its messages) and age (seconds before RefTime it was created).
// A conversation starts after its user was created and its last message is
// no later than RefTime: the messages span at most a day, users are at least
// a day old.
func (g gen) conversation() string {
	gaps := 900 // 20s to 15min between messages
	m := max(g.o.MessagesPerConversation-1, 0)
	if m > 0 {
		gaps = max(1, min(gaps, day/m-20))
	}
	// The user is the smaller of two uniform draws: earlier users have more
	// conversations (twice the mean for the first, few for the last).
	return fmt.Sprintf(`(SELECT b.i, b.u, b.gap, b.gap * %[1]d + %[2]s %% (%[3]s - b.gap * %[1]d + 1) AS age
  FROM (SELECT s.i, 1 + least(%[4]s %% %[5]d, %[6]s %% %[5]d) AS u, 20 + %[7]s %% %[8]d AS gap FROM %[9]s OFFSET 0) AS b OFFSET 0) AS c`,
		m, g.rnd("conversation", 2, "b.i"), g.userAge("b.u"),
		g.rnd("conversation", 0, "s.i"), g.o.Users, g.rnd("conversation", 1, "s.i"), g.rnd("conversation", 3, "s.i"), gaps, series)
}

func (g gen) conversations() string {
	span := "0"
	if m := g.o.MessagesPerConversation; m > 1 {
		span = fmt.Sprintf("c.gap * %d", m-1)
	}
	r := func(n int) string { return g.rnd("conversation", n, "c.i") }
	title := fmt.Sprintf("CASE WHEN %s %% 20 = 0 THEN '' ELSE format(%s, %s, %s) END",
		r(10), pick(titleFormats, r(11)), pick(topics, r(12)), pick(contexts, r(13)))
	// Two in five conversations have no metadata.
	meta := fmt.Sprintf(`CASE WHEN %[1]s %% 5 < 2 THEN NULL
    WHEN %[1]s %% 5 = 2 THEN jsonb_build_object('source', %[2]s, 'pinned', %[3]s %% 7 = 0)
    ELSE jsonb_build_object('source', %[2]s, 'model', %[4]s, 'tags', jsonb_build_array(%[5]s, %[6]s), 'pinned', %[3]s %% 7 = 0) END`,
		r(20), pick(sources, r(21)), r(22), pick(models, r(23)), pick(tags, r(24)), pick(tags, r(25)))
	return fmt.Sprintf(`INSERT INTO "conversations" ("id", "user_id", "title", "metadata", "created_at", "updated_at")
SELECT %s, %s, %s,
  %s,
  %s, %s
FROM %s`,
		g.id("conversation", "c.i"), g.id("user", "c.u"), title, meta, ts("c.age"), ts("c.age - "+span), g.conversation())
}

func (g gen) messages() string {
	r := func(n int) string { return g.rnd("message", n, "m.j") }
	// Messages are about their conversation's topic (see its title).
	user := fmt.Sprintf("format(%s, m.topic, m.ctx)", pick(questions, r(0)))
	// One in three answers has a numbered list.
	list := fmt.Sprintf(`CASE WHEN %s %% 3 = 0 THEN E'\n\n1. ' || %s || E'\n2. ' || %s || E'\n3. ' || %s ELSE '' END`,
		r(3), pick(steps, r(4)), pick(steps, r(5)), pick(steps, r(6)))
	assistant := fmt.Sprintf(`%s || ' ' || format(%s, m.topic) || ' ' || %s || %s || E'\n\n' || %s`,
		pick(openers, r(0)), pick(explanations, r(1)), pick(details, r(7)), list, pick(closings, r(8)))
	return fmt.Sprintf(`INSERT INTO "messages" ("id", "conversation_id", "role", "content", "created_at")
SELECT %s, m.cid, CASE WHEN m.k %% 2 = 1 THEN 'user' ELSE 'assistant' END,
  CASE WHEN m.k %% 2 = 1 THEN %s
  ELSE %s END,
  %s
FROM (SELECT c.cid, c.topic, c.ctx, c.age, c.gap, k, (c.i - 1) * %[5]d + k AS j
  FROM (SELECT c.i, %[6]s AS cid, %[7]s AS topic, %[8]s AS ctx, c.age, c.gap FROM %[9]s OFFSET 0) AS c
  CROSS JOIN generate_series(1, %[5]d) AS k OFFSET 0) AS m`,
		g.id("message", "m.j"), user, assistant, ts("m.age - m.gap * (m.k - 1)"), g.o.MessagesPerConversation,
		g.id("conversation", "c.i"), pick(topics, g.rnd("conversation", 12, "c.i")), pick(contexts, g.rnd("conversation", 13, "c.i")), g.conversation())
}

func (g gen) documents() string {
	r := func(n int) string { return g.rnd("document", n, "s.i") }
	title := fmt.Sprintf("format(%s, %s, %s)", pick(docTitles, r(0)), pick(topics, r(1)), pick(contexts, r(2)))
	// Three to eight paragraphs, chosen per document and paragraph.
	paras := fmt.Sprintf(`(SELECT string_agg(%s, E'\n\n' ORDER BY j) FROM generate_series(1, 3 + %s %% 6) AS j)`,
		pick(paragraphs, g.rnd("document", 3, "s.i * 8 + j")), r(4))
	md := fmt.Sprintf(`'# ' || d.title || E'\n\n' || d.paras || E'\n\n## ' || %s || E'\n\n- ' || %s || E'\n- ' || %s || E'\n- ' || %s || E'\n'`,
		pick(sections, "d.r"), pick(steps, "(d.r / 10)"), pick(steps, "(d.r / 100)"), pick(steps, "(d.r / 1000)"))
	plain := `d.title || E'\n\n' || d.paras || E'\n'`
	// Four in five documents are Markdown, the rest plain text: the two
	// content types Atrium knows.
	return fmt.Sprintf(`INSERT INTO "documents" ("id", "title", "content", "content_type", "created_at", "updated_at")
SELECT d.id, d.title, CASE WHEN d.md THEN %s ELSE %s END, CASE WHEN d.md THEN 'text/markdown' ELSE 'text/plain' END, d.created_at, d.updated_at
FROM (SELECT %s AS id, %s AS title, %s AS paras, %s %% 5 <> 0 AS md, %s AS r, %s
  FROM %s OFFSET 0) AS d(id, title, paras, md, r, created_at, updated_at)`,
		md, plain, g.id("document", "s.i"), title, paras, r(5), r(6), g.stamps("document"), series)
}

func (g gen) agents() string {
	r := func(n int) string { return g.rnd("agent", n, "a.i") }
	// One agent in four has no temperature (0.0-2.0 otherwise), one in three
	// no max_tokens.
	return fmt.Sprintf(`INSERT INTO "agents" ("id", "name", "description", "instructions", "model", "temperature", "max_tokens", "created_at", "updated_at")
SELECT a.id, %s || ' ' || a.role, format(%s, a.topic), format(%s, a.role, a.topic, %s), %s,
  CASE WHEN %s %% 4 = 0 THEN NULL ELSE (%s %% 21)::double precision / 10 END,
  CASE WHEN %s %% 3 = 0 THEN NULL ELSE (ARRAY[256, 512, 1024, 2048, 4096, 8192])[1 + %s %% 6] END,
  a.created_at, a.updated_at
FROM (SELECT s.i, %s AS id, %s AS role, %s AS topic, %s FROM %s OFFSET 0) AS a(i, id, role, topic, created_at, updated_at)`,
		pick(agentAdjectives, r(0)), pick(agentDescriptions, r(1)), pick(agentInstructions, r(2)), pick(contexts, r(3)), pick(models, r(4)),
		r(5), r(6), r(7), r(8),
		g.id("agent", "s.i"), pick(agentRoles, g.rnd("agent", 9, "s.i")), pick(topics, g.rnd("agent", 10, "s.i")), g.stamps("agent"), series)
}

// teams gives every team a distinct name: department and focus while the
// combinations last, then a number.
func (g gen) teams() string {
	nd, nf := len(departments), len(teamFocus)
	name := fmt.Sprintf(`(ARRAY[%s])[1 + (s.i - 1) %% %d] || ' ' || (ARRAY[%s])[1 + (s.i - 1) / %d %% %d] || CASE WHEN s.i > %d THEN ' ' || ((s.i - 1) / %d + 1) ELSE '' END`,
		quoteAll(departments), nd, quoteAll(teamFocus), nd, nf, nd*nf, nd*nf)
	r := func(n int) string { return g.rnd("team", n, "s.i") }
	return fmt.Sprintf(`INSERT INTO "teams" ("id", "name", "description", "created_at", "updated_at")
SELECT %s, %s, CASE WHEN %s %% 6 = 0 THEN '' ELSE format(%s, %s) END, %s
FROM %s`,
		g.id("team", "s.i"), name, r(0), pick(teamDescriptions, r(1)), pick(topics, r(2)), g.stamps("team"), series)
}

func (g gen) knowledgeGraphs() string {
	r := func(n int) string { return g.rnd("knowledge_graph", n, "s.i") }
	return fmt.Sprintf(`INSERT INTO "knowledge_graphs" ("id", "name", "description", "created_at", "updated_at")
SELECT k.id, format(%s, k.topic, k.ctx), CASE WHEN %s %% 5 = 0 THEN '' ELSE format(%s, k.topic, k.ctx) END, k.created_at, k.updated_at
FROM (SELECT s.i, %s, %s, %s, %s FROM %s OFFSET 0) AS k(i, id, topic, ctx, created_at, updated_at)`,
		pick(graphNames, g.rnd("knowledge_graph", 0, "k.i")), g.rnd("knowledge_graph", 1, "k.i"), pick(graphDescriptions, g.rnd("knowledge_graph", 2, "k.i")),
		g.id("knowledge_graph", "s.i"), pick(topics, r(3)), pick(contexts, r(4)), g.stamps("knowledge_graph"), series)
}

func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// The vocabulary of the fixture: invented, generic, no personal data.
var (
	firstNames = []string{"Ada", "Alan", "Amara", "Ana", "Arjun", "Bea", "Ben", "Carla", "Chen", "Dana", "Diego", "Elif", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jonas", "Julia", "Kai", "Kenji", "Lea", "Liam", "Lina", "Marco", "Maya", "Mei", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Sara", "Tariq", "Uma", "Yara", "Zoe"}
	lastNames  = []string{"Abara", "Berg", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Santos", "Tanaka", "Umarov", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Novak", "Silva", "Meyer", "Kim"}
	topics     = []string{"quarterly budget", "onboarding checklist", "API rate limits", "database migration", "marketing plan", "release notes", "customer survey", "incident postmortem", "hiring pipeline", "pricing page", "SQL query", "travel policy", "support macros", "product roadmap", "security review", "data retention policy", "sales forecast", "design system", "test coverage", "vendor contract", "team offsite", "OKRs", "churn analysis", "mobile app", "invoice template"}
	contexts   = []string{"the EU launch", "next quarter", "the board meeting", "our biggest customer", "the new hires", "the Berlin office", "the platform team", "Q3", "the annual review", "the beta program", "the partner portal", "legal", "the all-hands"}

	titleFormats = []string{"Plan the %s for %s", "Help with the %s (%s)", "Questions about the %s for %s", "Draft %s", "Review %s before %s", "Summarize %s", "Ideas: %s for %s", "Fix %s"}
	questions    = []string{
		"Can you help me draft the %s for %s?",
		"What are the main risks in our %s, given %s?",
		"Please summarize the %s in five bullet points for %s.",
		"How should we structure the %s so it works for %s?",
		"I need a first version of the %s by Friday (%s). Where do I start?",
		"Could you review this %s and point out anything unclear for %s?",
		"Compare two options for the %s; the audience is %s.",
		"What will %2$s want to know about the %1$s?",
	}
	openers      = []string{"Sure.", "Good question.", "Here is a first pass.", "Happy to help.", "Let's break it down.", "Here's what I'd suggest."}
	explanations = []string{
		"A good %s starts with the goal and the audience, then the constraints.",
		"The main thing to get right in the %s is who owns each decision.",
		"Most problems with a %s come from unclear scope rather than missing detail.",
		"For the %s, I would separate what is decided from what is still open.",
		"Keep the %s short: one page with links is easier to review than ten.",
	}
	details = []string{
		"Put the numbers in a table and state where each comes from.",
		"List the assumptions explicitly so reviewers can challenge them.",
		"Add a short timeline with owners and dates.",
		"Call out the two or three decisions you need from the readers.",
		"Move background material to an appendix.",
		"End with the next steps and who does them.",
	}
	steps      = []string{"Collect the inputs from each team", "Write a one-paragraph summary", "Draft the outline", "Check the figures against last quarter", "Share a draft for comments", "Schedule a 30-minute review", "Incorporate feedback and finalize", "Publish it in the shared folder", "Track open questions in a list", "Agree on a deadline"}
	closings   = []string{"Want me to turn this into a draft?", "Let me know if you want more detail on any step.", "I can also write a shorter version.", "Shall I prepare the table?", "Does that match what you had in mind?"}
	docTitles  = []string{"The %s for %s", "Notes on the %s", "Draft: %s (%s)", "How we handle the %s", "Overview of the %s", "Proposal: %s for %s", "FAQ: %s"}
	sections   = []string{"Next steps", "Open questions", "Decisions", "Owners", "Timeline", "References"}
	paragraphs = []string{
		"This document collects what we know so far and what we still need to decide. It is a living document; edit it when things change.",
		"The goal is to make the process predictable for everyone involved, from the first request to the final review.",
		"We looked at the last three quarters and found that most delays came from unclear ownership rather than from missing resources.",
		"Each team keeps its own checklist, but the shared steps below apply to everyone. Exceptions need a short written reason.",
		"Numbers in this section are estimates. They will be replaced by actuals at the end of the month.",
		"The previous version of this page described the old tooling; the sections that no longer apply have been removed.",
		"If something here is unclear, ask in the team channel rather than in private messages, so the answer helps the next person too.",
		"We review this page every quarter. The owner is listed at the top; the reviewers rotate.",
		"Security and privacy requirements come first: no customer data in examples, screenshots or exports.",
		"The summary table lists each item, its owner, its status and the date of the last update.",
	}
	sources           = []string{"web", "web", "web", "slack", "email", "api", "import"}
	models            = []string{"gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "claude-3-5-sonnet", "claude-3-haiku", "llama-3.1-70b", "mistral-large"}
	tags              = []string{"finance", "hr", "engineering", "sales", "support", "legal", "marketing", "ops", "draft", "urgent"}
	agentAdjectives   = []string{"Friendly", "Concise", "Careful", "Senior", "Helpful", "Strict", "Quick", "Thorough"}
	agentRoles        = []string{"Support Assistant", "Writing Coach", "SQL Helper", "Code Reviewer", "Meeting Summarizer", "Research Analyst", "Onboarding Buddy", "Policy Checker", "Translator", "Sales Assistant"}
	agentDescriptions = []string{"Answers questions about the %s.", "Helps the team with the %s.", "Drafts and reviews the %s.", "", "Internal agent for the %s."}
	agentInstructions = []string{
		"You are a %s. Answer briefly and cite the documents you used. Focus on %s; ask before assuming anything about %s.",
		"Act as a %s for %s. Use plain language, bullet points where helpful, and never invent figures about %s.",
		"You are the team's %s. Questions are usually about %s or %s; when unsure, say so and suggest who to ask.",
	}
	departments       = []string{"Platform", "Payments", "Growth", "Support", "Design", "Data", "Security", "Mobile", "Sales", "Marketing", "Finance", "People", "Legal", "Infrastructure", "Research", "Operations"}
	teamFocus         = []string{"Core", "EMEA", "Americas", "APAC", "Enablement", "Tooling", "Quality", "Reliability", "Insights", "Partnerships", "Onboarding", "Automation"}
	teamDescriptions  = []string{"Owns the %s.", "Everything about the %s.", "Weekly sync on the %s.", "Working group for the %s."}
	graphNames        = []string{"Knowledge graph of the %s (%s)", "Entities and relations: %s, %s", "Map of the %s for %s", "Glossary of the %s (%s)"}
	graphDescriptions = []string{"Entities and relations extracted from the %s documents for %s.", "Who owns what in the %s; built for %s.", "Links between the %s and %s.", "Draft graph of the %s for %s."}
)
