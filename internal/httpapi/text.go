package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"atrium/internal/fault"
)

// Every string Atrium stores must be text both databases accept: valid UTF-8
// without U+0000. PostgreSQL refuses both in text columns (SQLite stores
// them), and encoding/json would silently turn invalid UTF-8 into U+FFFD, so
// the raw bytes are checked here, once, before anything decodes them: the
// percent-decoded query string, the decoded path and JSON request bodies.

// badTextError is input that is not valid text.
type badTextError struct {
	in    string // query, path or body
	field string // the query parameter or JSON member, when known
	nul   bool   // U+0000 rather than invalid UTF-8
}

func (e *badTextError) Error() string {
	return "invalid text in the request " + e.in + ": " + e.message()
}

func (e *badTextError) message() string {
	if e.nul {
		return "must not contain U+0000 (NUL)"
	}
	return "must be valid UTF-8"
}

// fault is the client's answer: 400 naming the parameter or member.
func (e *badTextError) fault() *fault.Error {
	field := e.field
	if field == "" {
		field = e.in
	}
	return &fault.Error{Code: fault.Invalid, Message: "the request " + e.in + " contains invalid text",
		Fields: []fault.FieldError{{Field: field, Message: e.message()}}}
}

// withTextCheck answers 400 for a query string or path that is not valid
// text, and wraps JSON bodies in a reader that fails on the first invalid
// string; the generated decoder reports that read error, which the error
// mapper turns into 400. Bodies stream through: nothing is buffered here.
func withTextCheck(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r.URL.RawQuery); err != nil {
			writeProblem(w, r, log, err)
			return
		}
		if bad, nul := invalidText(r.URL.Path); bad {
			writeProblem(w, r, log, &badTextError{in: "path", nul: nul})
			return
		}
		if r.Body != nil && r.Body != http.NoBody && isJSON(r.Header.Get("Content-Type")) {
			r.Body = &textReader{rc: r.Body}
		}
		next.ServeHTTP(w, r)
	})
}

// invalidText reports whether s is not valid UTF-8 or contains U+0000.
func invalidText(s string) (bad, nul bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return true, true
	}
	return !utf8.ValidString(s), false
}

// checkQuery checks every percent-decoded name and value of a raw query.
// Malformed escapes are left to the generated parser.
func checkQuery(raw string) error {
	plain := true
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '%' || c == 0 || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return nil
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		if bad, nul := invalidText(key); bad {
			return &badTextError{in: "query", nul: nul}
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		if bad, nul := invalidText(val); bad {
			return &badTextError{in: "query", field: key, nul: nul}
		}
	}
	return nil
}

// isJSON reports whether a Content-Type is JSON (application/json or
// application/*+json), without allocating.
func isJSON(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	const plus = "+json"
	return strings.EqualFold(ct, "application/json") ||
		(len(ct) > len(plus) && strings.EqualFold(ct[len(ct)-len(plus):], plus))
}

// maxKey is how much of a member name the reader keeps to name the field.
const maxKey = 64

// textReader passes a JSON body through while checking it: every byte must
// be valid UTF-8, no byte may be 0, and no string may hold the escape
// \u0000. It tracks just enough JSON (strings, escapes, the last member
// name) to do that in one pass with no allocation; the JSON decoder still
// checks the syntax.
type textReader struct {
	rc  io.ReadCloser
	err error // sticky

	// UTF-8: continuation bytes still expected and the next one's range.
	need   int8
	lo, hi byte

	inStr    bool
	esc      bool  // after a backslash
	hexLeft  int8  // hex digits left in a \u escape
	hexVal   int32 // the escape's value so far
	afterStr bool  // the last significant byte closed a string

	cur, key   [maxKey]byte // the string being read; the last member name
	nCur, nKey int          // lengths; -1 when not nameable (long, escaped)

	bad *badTextError // found, waiting to learn whether its string is a name
}

func (t *textReader) Close() error { return t.rc.Close() }

func (t *textReader) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.rc.Read(p)
	buf := p[:n]
	for i := 0; i < len(buf); i++ {
		if t.inStr && t.need == 0 && !t.esc && t.hexLeft == 0 {
			// A run of plain string text at once: scan would only
			// check and keep it byte by byte.
			if j := plainText(buf, i); j > i {
				t.keepRun(buf[i:j])
				if i = j; i == len(buf) {
					break
				}
			}
		}
		if t.scan(buf[i]) {
			return n, t.err
		}
	}
	if err == io.EOF {
		if t.need > 0 && t.bad == nil { // a truncated sequence
			t.bad = &badTextError{in: "body"}
		}
		if t.bad != nil {
			t.nameBad(false)
			return n, t.err
		}
	}
	return n, err
}

// plainText returns the index of the first byte from i on that is not plain
// string text: a quote, a backslash, a control byte, or a byte that does not
// start a whole valid UTF-8 sequence (invalid, or split across reads). It is
// the fast path through long strings; scan decides about that byte.
func plainText(buf []byte, i int) int {
	for i < len(buf) {
		c := buf[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if _, size := utf8.DecodeRune(buf[i:]); size > 1 {
				i += size
				continue
			}
		}
		break
	}
	return i
}

// nameBad settles the field of a pending violation: a member name itself is
// named "body", a value by its member.
func (t *textReader) nameBad(isName bool) {
	if !isName && t.nKey > 0 {
		t.bad.field = string(t.key[:t.nKey])
	}
	t.err = t.bad
}

// violation records a problem found at the current byte. Inside a string it
// waits until the string ends to learn whether it was a member name.
func (t *textReader) violation(nul bool) bool {
	if t.bad != nil {
		return false
	}
	t.bad = &badTextError{in: "body", nul: nul}
	if !t.inStr {
		t.err = t.bad
		return true
	}
	return false
}

// scan consumes one byte; true when the read must fail now.
func (t *textReader) scan(c byte) bool {
	// UTF-8 validity, everywhere in the body.
	if t.need > 0 {
		if c < t.lo || c > t.hi {
			t.need = 0
			if t.violation(false) {
				return true
			}
		} else {
			t.lo, t.hi = 0x80, 0xBF
			t.need--
			t.keep(c)
			return false
		}
	}
	if c >= utf8.RuneSelf {
		t.lo, t.hi = 0x80, 0xBF
		switch {
		case c >= 0xC2 && c <= 0xDF:
			t.need = 1
		case c == 0xE0:
			t.need, t.lo = 2, 0xA0
		case c == 0xED: // no UTF-16 surrogates
			t.need, t.hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			t.need = 2
		case c == 0xF0:
			t.need, t.lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			t.need = 3
		case c == 0xF4:
			t.need, t.hi = 3, 0x8F
		default:
			return t.violation(false)
		}
		t.keep(c)
		return false
	}
	if c == 0 {
		return t.violation(true)
	}
	if !t.inStr {
		switch c {
		case ' ', '\t', '\r', '\n':
			return false
		case '"':
			t.inStr, t.nCur, t.afterStr = true, 0, false
			return false
		case ':':
			if t.afterStr {
				t.key, t.nKey = t.cur, t.nCur
			}
		}
		if t.afterStr && t.bad != nil {
			t.nameBad(c == ':')
			return true
		}
		t.afterStr = false
		return false
	}
	switch {
	case t.hexLeft > 0:
		t.hexLeft--
		t.hexVal = t.hexVal<<4 | int32(hexDigit(c))
		if t.hexLeft == 0 && t.hexVal == 0 {
			return t.violation(true)
		}
		t.nCur = -1
	case t.esc:
		t.esc = false
		if c == 'u' {
			t.hexLeft, t.hexVal = 4, 0
		}
		t.nCur = -1
	case c == '\\':
		t.esc = true
		t.nCur = -1
	case c == '"':
		t.inStr, t.afterStr = false, true
	default:
		t.keep(c)
	}
	return false
}

// keepRun is keep of each byte of run, plain string text (plainText).
func (t *textReader) keepRun(run []byte) {
	if t.nCur < 0 {
		return
	}
	if t.nCur+len(run) > maxKey {
		t.nCur = -1
		return
	}
	for _, c := range run {
		if c >= utf8.RuneSelf {
			t.nCur = -1
			return
		}
	}
	t.nCur += copy(t.cur[t.nCur:], run)
}

// keep appends a byte of the current string to its nameable prefix.
func (t *textReader) keep(c byte) {
	if !t.inStr || t.nCur < 0 {
		return
	}
	if t.nCur == maxKey || c < 0x20 || c >= utf8.RuneSelf {
		t.nCur = -1
		return
	}
	t.cur[t.nCur] = c
	t.nCur++
}

func hexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0x10 // not hex: the value cannot be 0 any more
}
