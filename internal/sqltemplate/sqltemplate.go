// Package sqltemplate keeps the SQL text of ent predicates whose shape is
// known from a key, so that a hot query renders it once per shape instead
// of once per request.
//
// ent renders a predicate by building every nested selector into its own
// string and copying it into its parent's: for the list endpoints'
// visibility filter (a union of up to 32 ordered, limited subqueries) that
// was about 15% of the server's CPU and 13 KB of garbage per request
// (docs/performance.md). A Cache renders a shape once, with stand-in
// values, cuts the text at its arguments, and from then on writes the
// pieces and the caller's values straight into the query's builder, which
// numbers the placeholders as before.
//
// A value the predicate does not pass through as an argument (formatted
// into the text, or turned into another argument) would be frozen into the
// template with the stand-in's value. So every shape is rendered twice,
// with two sets of stand-ins: unless both renderings are the same text and
// the same arguments apart from the stand-ins themselves, the shape is not
// kept, and that key's predicate is built by the caller's function every
// time, as without a cache.
package sqltemplate

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
)

// Build builds the predicate for vals. Its shape (text, number and order of
// arguments) must depend only on the key it is cached under, never on the
// values; each value must reach the text only as an argument.
type Build func(vals []uuid.UUID) *sql.Predicate

// Cache maps keys to their predicates' templates. It holds at most max
// shapes: past that, new shapes are built every time (correct, slower).
type Cache[K comparable] struct {
	mu  sync.RWMutex
	m   map[K]*template // nil value: the shape cannot be templated
	max int
}

// New returns a Cache of at most max shapes.
func New[K comparable](max int) *Cache[K] {
	return &Cache[K]{m: make(map[K]*template), max: max}
}

// Len is the number of shapes held.
func (c *Cache[K]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Predicate returns build(vals), from key's template when it has one. The
// key must determine everything build's shape depends on besides the
// values, dialect (the SQL dialect the predicate is rendered in) included.
// A nil Cache keeps nothing: it returns build(vals).
func (c *Cache[K]) Predicate(key K, dialect string, vals []uuid.UUID, build Build) *sql.Predicate {
	if c == nil {
		return build(vals)
	}
	c.mu.RLock()
	t, ok := c.m[key]
	c.mu.RUnlock()
	if !ok {
		t = compile(dialect, len(vals), build)
		c.mu.Lock()
		if len(c.m) < c.max {
			c.m[key] = t
		}
		c.mu.Unlock()
	}
	if t == nil {
		return build(vals)
	}
	return t.predicate(vals)
}

// template is a predicate's text cut at its arguments: text[0], argument
// 0, text[1], …, text[len(slots)]. Argument i is the caller's value
// slots[i], or consts[i] when slots[i] is -1.
type template struct {
	text   []string
	slots  []int
	consts []any
}

func (t *template) predicate(vals []uuid.UUID) *sql.Predicate {
	return sql.P(func(b *sql.Builder) {
		for i, s := range t.slots {
			b.WriteString(t.text[i])
			if s >= 0 {
				b.Arg(vals[s])
			} else {
				b.Arg(t.consts[i])
			}
		}
		b.WriteString(t.text[len(t.slots)])
	})
}

// compile renders build's shape with two sets of stand-ins and returns its
// template, or nil when the two renderings differ in anything but the
// stand-ins (a value did not reach the text as an argument of its own).
func compile(dialect string, n int, build Build) *template {
	a, b := standIns(n), standIns(n)
	ta, tb := cut(dialect, a, build(a)), cut(dialect, b, build(b))
	if ta == nil || tb == nil || !reflect.DeepEqual(ta, tb) {
		return nil
	}
	return ta
}

func standIns(n int) []uuid.UUID {
	vals := make([]uuid.UUID, n)
	for i := range vals {
		vals[i] = uuid.New()
	}
	return vals
}

// cut renders p in dialect and cuts its text at the arguments' placeholders
// ($1, $2, … on PostgreSQL; ? elsewhere), or returns nil if the text does
// not hold exactly one placeholder per argument, in order.
func cut(d string, vals []uuid.UUID, p *sql.Predicate) *template {
	p.SetDialect(d)
	text, args := p.Query()
	if p.Err() != nil {
		return nil
	}
	t := &template{slots: make([]int, len(args)), consts: make([]any, len(args))}
	rest := text
	for i, arg := range args {
		ph := "?"
		if d == dialect.Postgres {
			ph = "$" + strconv.Itoa(i+1)
		}
		j := strings.Index(rest, ph)
		if j < 0 || strings.ContainsAny(rest[:j], "$?") {
			return nil
		}
		if end := j + len(ph); end < len(rest) && d == dialect.Postgres && rest[end] >= '0' && rest[end] <= '9' {
			return nil
		}
		t.text = append(t.text, rest[:j])
		rest = rest[j+len(ph):]
		t.slots[i] = -1
		if u, ok := arg.(uuid.UUID); ok {
			for k, v := range vals {
				if u == v {
					t.slots[i] = k
				}
			}
		}
		if t.slots[i] < 0 {
			t.consts[i] = arg
		}
	}
	if strings.ContainsAny(rest, "$?") {
		return nil
	}
	t.text = append(t.text, rest)
	return t
}
