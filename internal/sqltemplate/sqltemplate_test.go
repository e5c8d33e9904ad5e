package sqltemplate_test

import (
	"testing"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/internal/sqltemplate"
)

// union is a predicate shaped like the list endpoints' visibility filter:
// nested selectors, a union, literal limits, constant and value arguments.
func union(d string) sqltemplate.Build {
	return func(vals []uuid.UUID) *sql.Predicate {
		branch := func(i int, subject uuid.UUID) *sql.Selector {
			t := sql.Dialect(d).Table("shares")
			in := sql.Dialect(d).Select(t.C("resource_id")).From(t).
				Where(sql.And(sql.EQ(t.C("tenant_id"), vals[0]), sql.EQ(t.C("kind"), "team"), sql.EQ(t.C("subject_id"), subject))).
				OrderBy(sql.Desc(t.C("resource_id"))).Limit(51).As("b" + string(rune('0'+i)))
			return sql.Dialect(d).Select(in.C("resource_id")).From(in)
		}
		u := branch(0, vals[1])
		for i, v := range vals[2:] {
			u.Union(branch(i+1, v))
		}
		u.As("visible")
		return sql.In(`"conversations"."id"`, sql.Dialect(d).Select(u.C("resource_id")).From(u))
	}
}

// outer renders p inside a query that already has arguments, as ent's
// privacy filter puts the tenant's before it.
func outer(d string, p *sql.Predicate) (string, []any) {
	return sql.Dialect(d).Select("*").From(sql.Table("conversations")).
		Where(sql.EQ("tenant_id", "t")).Where(p).Where(sql.GT("n", 7)).Query()
}

func vals(n int) []uuid.UUID {
	v := make([]uuid.UUID, n)
	for i := range v {
		v[i] = uuid.New()
	}
	return v
}

// requireBuilt checks that c's predicate for n fresh values, under key n,
// renders as union's.
func requireBuilt(t *testing.T, c *sqltemplate.Cache[int], d string, n int) {
	t.Helper()
	v := vals(n)
	wantQ, wantArgs := outer(d, union(d)(v))
	gotQ, gotArgs := outer(d, c.Predicate(n, d, v, union(d)))
	require.Equal(t, wantQ, gotQ)
	require.Equal(t, wantArgs, gotArgs)
}

func TestCache(t *testing.T) {
	for _, d := range []string{dialect.Postgres, dialect.SQLite} {
		t.Run(d, func(t *testing.T) {
			t.Run("OKSameAsBuilt", func(t *testing.T) {
				c := sqltemplate.New[int](10)
				for n := 2; n <= 6; n++ {
					for range 3 { // a miss, then hits, each with other values
						requireBuilt(t, c, d, n)
					}
				}
				require.Equal(t, 5, c.Len())
			})
			t.Run("OKRenderedTwice", func(t *testing.T) {
				// ent may render a query more than once (a retry, a log).
				c := sqltemplate.New[int](10)
				v := vals(3)
				c.Predicate(3, d, vals(3), union(d))
				p := c.Predicate(3, d, v, union(d))
				q1, a1 := outer(d, p)
				q2, a2 := outer(d, p)
				require.Equal(t, q1, q2)
				require.Equal(t, a1, a2)
				require.Len(t, a1, 2*3+2) // two branches of three, and the outer two
			})
			t.Run("ErrValueInText", func(t *testing.T) {
				// A value formatted into the text must not be frozen as the
				// stand-in's: the shape is not kept, the value is the caller's.
				c := sqltemplate.New[int](10)
				build := func(vals []uuid.UUID) *sql.Predicate {
					return sql.And(sql.EQ("a", vals[0]), sql.ExprP(`b = '`+vals[1].String()+`'`))
				}
				for range 2 {
					v := vals(2)
					q, args := outer(d, c.Predicate(1, d, v, build))
					require.Contains(t, q, v[1].String())
					require.Contains(t, args, v[0])
				}
			})
			t.Run("ErrDerivedArgument", func(t *testing.T) {
				// A value turned into another argument (here its text) is not a
				// stand-in's slot: without the second rendering it would be kept
				// as a constant, and every later caller would get the first
				// caller's value.
				c := sqltemplate.New[int](10)
				build := func(vals []uuid.UUID) *sql.Predicate {
					return sql.And(sql.EQ("a", vals[0]), sql.EQ("b", vals[1].String()))
				}
				for range 2 {
					v := vals(2)
					_, args := outer(d, c.Predicate(1, d, v, build))
					require.Equal(t, []any{"t", v[0], v[1].String(), 7}, args)
				}
			})
			t.Run("ErrFull", func(t *testing.T) {
				// Past max shapes, new ones are built each time, still right.
				c := sqltemplate.New[int](2)
				for n := 2; n <= 5; n++ {
					requireBuilt(t, c, d, n)
				}
				require.Equal(t, 2, c.Len())
			})
		})
	}
}

// BenchmarkPredicate compares rendering the visibility-shaped predicate
// with ent's builder against writing its template.
func BenchmarkPredicate(b *testing.B) {
	d := dialect.Postgres
	v := vals(6)
	b.Run("built", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			outer(d, union(d)(v))
		}
	})
	b.Run("template", func(b *testing.B) {
		c := sqltemplate.New[int](1)
		b.ReportAllocs()
		for b.Loop() {
			outer(d, c.Predicate(0, d, v, union(d)))
		}
	})
}
