package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestTextReader(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		field      string // "" = valid
		nul        bool
	}{
		{"OK/ASCII", `{"a":"b","c":[1,2,{"d":"e"}]}`, "", false},
		{"OK/MultiByte", `{"a":"naïve 日本語 🎉"}`, "", false},
		{"OK/EscapedBackslash", `{"a":"\\u0000"}`, "", false},
		{"OK/OtherEscapes", `{"a":"\u0001\n\"\\\u00e9"}`, "", false},
		{"OK/EscapedNULLookalike", `{"a":"\u0100"}`, "", false},
		{"ErrEscapedNUL", `{"a":"x\u0000"}`, "a", true},
		{"ErrEscapedNULUpper", `{"a":{"bb":"\U0000"}}`, "", false}, // \U is not an escape: the decoder refuses it
		{"ErrRawNUL", "{\"a\":\"\x00\"}", "a", true},
		{"ErrRawNULOutsideString", "{\"a\":1\x00}", "body", true},
		{"ErrInvalidByte", "{\"a\":\"\xff\"}", "a", false},
		{"ErrOverlong", "{\"a\":\"\xc0\xaf\"}", "a", false},
		{"ErrSurrogate", "{\"a\":\"\xed\xb0\x80\"}", "a", false},
		{"ErrTooHigh", "{\"a\":\"\xf4\x90\x80\x80\"}", "a", false},
		{"ErrTruncatedAtEOF", "{\"a\":\"\xe6\x97", "a", false},
		{"ErrBadContinuation", "{\"a\":\"\xe6x\"}", "a", false},
		{"ErrNestedMember", `{"a":"ok","b":{"c":["x","\u0000"]}}`, "c", true},
		{"ErrInMemberName", `{"ok":1,"b\u0000":2}`, "body", true},
		{"ErrLongMemberName", `{"` + strings.Repeat("k", 100) + `":"\u0000"}`, "body", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time, so that every state crosses a read boundary.
			r := &textReader{rc: io.NopCloser(iotest.OneByteReader(strings.NewReader(tc.body)))}
			got, err := io.ReadAll(r)
			if tc.field == "" {
				require.NoError(t, err)
				require.Equal(t, tc.body, string(got))
				return
			}
			var bt *badTextError
			require.True(t, errors.As(err, &bt), "err: %v", err)
			require.Equal(t, tc.field, bt.fault().Fields[0].Field)
			require.Equal(t, tc.nul, bt.nul)
		})
	}
}

// refCheck is textReader's verdict on body taken one scan per byte, with no
// fast path: the reference the chunked reads must agree with.
func refCheck(body []byte) error {
	t := &textReader{}
	for _, c := range body {
		if t.scan(c) {
			return t.err
		}
	}
	if t.need > 0 && t.bad == nil {
		t.bad = &badTextError{in: "body"}
	}
	if t.bad != nil {
		t.nameBad(false)
		return t.err
	}
	return nil
}

// chunkReader returns its bytes in reads of random sizes.
type chunkReader struct {
	b   []byte
	rng *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.b), 1+c.rng.IntN(12))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// TestTextReaderMatchesScan: bodies of random JSON-like pieces (member names
// short and long, plain and multi-byte text, escapes, NUL raw and escaped,
// invalid and truncated UTF-8) read in random chunks get the verdict of the
// byte-by-byte scan, field and kind included, and pass through unchanged.
func TestTextReaderMatchesScan(t *testing.T) {
	t.Parallel()
	pieces := []string{`{`, `}`, `[`, `]`, `,`, `:`, ` `, `"`, `"a"`, `"name":`, `"permission":`,
		`"` + strings.Repeat("k", 63) + `":`, `"` + strings.Repeat("k", 64) + `":`, `"` + strings.Repeat("k", 65) + `":`,
		"plain text ", "naïve", "日本語", "🎉", `\\`, `\"`, `\u0000`, `\u00e9`, `\n`, "\x00", "\xff", "\xe6\x97",
		"\xed\xa0\x80", "\xc3", "\x01", "123", "true", strings.Repeat("x", 70)}
	rng := rand.New(rand.NewPCG(1, 2))
	bad := 0
	for i := range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		body := []byte(b.String())
		want := refCheck(body)
		r := &textReader{rc: io.NopCloser(&chunkReader{b: body, rng: rng})}
		got, err := io.ReadAll(r)
		msg := fmt.Sprintf("case %d: %q", i, body)
		if want == nil {
			require.NoError(t, err, msg)
			require.Equal(t, body, got, msg)
			continue
		}
		bad++
		var wb, gb *badTextError
		require.True(t, errors.As(want, &wb), msg)
		require.True(t, errors.As(err, &gb), "%s: err %v", msg, err)
		require.Equal(t, *wb, *gb, msg)
	}
	require.Greater(t, bad, 1000, "the generator must make bad bodies too")
}

func TestTextReaderKeepsOtherErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := &textReader{rc: io.NopCloser(iotest.ErrReader(boom))}
	_, err := io.ReadAll(r)
	require.ErrorIs(t, err, boom)
}

func TestCheckQuery(t *testing.T) {
	t.Parallel()
	require.NoError(t, checkQuery(""))
	require.NoError(t, checkQuery("q=hello&limit=5"))
	require.NoError(t, checkQuery("q=%E6%97%A5%E6%9C%AC&x=%zz"))
	var bt *badTextError
	require.ErrorAs(t, checkQuery("a=1&q=%00"), &bt)
	require.Equal(t, "q", bt.field)
	require.True(t, bt.nul)
	require.ErrorAs(t, checkQuery("q=%ff%fe"), &bt)
	require.False(t, bt.nul)
	require.ErrorAs(t, checkQuery("%ff=1"), &bt)
	require.Equal(t, "", bt.field)
}

// typicalBody is a 1 KiB JSON request: a message with a paragraph of text.
var typicalBody = func() []byte {
	var b bytes.Buffer
	b.WriteString(`{"role":"user","content":"`)
	for b.Len() < 1000 {
		b.WriteString("Plans for the quarter: ship passkeys, naïve café ✓. ")
	}
	b.WriteString(`"}`)
	return b.Bytes()
}()

// checksBody is a POST /authz/check body of 100 checks: many short strings.
var checksBody = func() []byte {
	var b bytes.Buffer
	b.WriteString(`{"checks":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"permission":"conversation.read","resource_id":"01a2404b-fc1d-7bd8-81fe-b76d0cb8%04d"}`, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}()

// BenchmarkTextCheck measures the middleware on a typical 1 KiB JSON body
// and on a 100-check batch (short strings), read to the end as the
// generated decoder does, against no check at all.
func BenchmarkTextCheck(b *testing.B) {
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			b.Fatal(err)
		}
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
		body []byte
	}{
		{"Off", read, typicalBody},
		{"On", withTextCheck(slog.New(slog.DiscardHandler), read), typicalBody},
		{"Checks/Off", read, checksBody},
		{"Checks/On", withTextCheck(slog.New(slog.DiscardHandler), read), checksBody},
	} {
		typicalBody := bc.body
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("POST", "/api/v1/conversations/x/messages?limit=5", nil)
			req.Header.Set("Content-Type", "application/json")
			body := bytes.NewReader(typicalBody)
			w := httptest.NewRecorder()
			b.SetBytes(int64(len(typicalBody)))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(typicalBody)
				req.Body = io.NopCloser(body)
				bc.h.ServeHTTP(w, req)
			}
		})
	}
}
