package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace/noop"
)

// serveThrough runs handler behind withRequest on a real net/http server and
// returns the client's view of one GET: the response (body read) and body.
func serveThrough(t *testing.T, handler http.HandlerFunc) (*http.Response, []byte) {
	t.Helper()
	o := observer{tracer: noop.NewTracerProvider().Tracer("test"), route: func(*http.Request) (string, string) { return "", "" }}
	srv := httptest.NewServer(withRequest(slog.New(slog.DiscardHandler), 1<<20, o, handler))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// jsonBody is a JSON document of about n bytes.
func jsonBody(n int) []byte {
	b, _ := json.Marshal(map[string]string{"pad": strings.Repeat("x", n)})
	return b
}

// writeJSON writes body the way the generated encoders do: the header, then
// the whole body in one Write.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func TestRecorderLength(t *testing.T) {
	t.Parallel()
	big := jsonBody(20 << 10) // over net/http's 2 KB: it would chunk it
	t.Run("OKJSONHasLength", func(t *testing.T) {
		t.Parallel()
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, big) })
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, big, body)
		require.Equal(t, int64(len(big)), resp.ContentLength)
		require.Empty(t, resp.TransferEncoding)
		require.NotEmpty(t, resp.Header.Get("X-Request-Id"), "the middleware's own headers still go out")
	})
	t.Run("OKProblemHasLength", func(t *testing.T) {
		t.Parallel()
		resp, body := serveThrough(t, func(w http.ResponseWriter, r *http.Request) {
			metaFrom(r.Context()).retryAfter = 3e9
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(big[:len(big)/2])
			_, _ = w.Write(big[len(big)/2:]) // several writes: still one body
		})
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Equal(t, "3", resp.Header.Get("Retry-After"))
		require.Equal(t, big, body)
		require.Equal(t, int64(len(big)), resp.ContentLength)
	})
	t.Run("OKImplicitStatus", func(t *testing.T) {
		t.Parallel()
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(big) // no WriteHeader: 200
		})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, big, body)
		require.Equal(t, int64(len(big)), resp.ContentLength)
	})
	for _, status := range []int{http.StatusCreated, http.StatusNoContent} {
		t.Run("OKNoBody/"+strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
			})
			require.Equal(t, status, resp.StatusCode)
			require.Empty(t, body)
			if status != http.StatusNoContent {
				require.Equal(t, int64(0), resp.ContentLength)
			}
		})
	}
	t.Run("OKOtherTypesStream", func(t *testing.T) {
		t.Parallel()
		page := bytes.Repeat([]byte("<p>x</p>"), 4<<10)
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(page)
		})
		require.Equal(t, page, body)
		require.Equal(t, int64(-1), resp.ContentLength, "not JSON: not held, so chunked as before")
		require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	})
	t.Run("OKHandlerLength", func(t *testing.T) {
		t.Parallel()
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			writeJSON(w, http.StatusOK, big)
		})
		require.Equal(t, big, body)
		require.Equal(t, int64(len(big)), resp.ContentLength)
	})
	t.Run("OKOverMaxHeldStreams", func(t *testing.T) {
		t.Parallel()
		huge := jsonBody(maxHeld + 1)
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(huge[:100])
			_, _ = w.Write(huge[100:]) // past the bound: what is held goes out, then the rest
		})
		require.Equal(t, huge, body)
		require.Equal(t, int64(-1), resp.ContentLength)
	})
	t.Run("OKFlushSendsHeld", func(t *testing.T) {
		t.Parallel()
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, big[:10])
			require.NoError(t, http.NewResponseController(w).Flush())
			_, _ = w.Write(big[10:])
		})
		require.Equal(t, big, body)
		require.Equal(t, int64(-1), resp.ContentLength, "flushed before the end: its length was not known")
	})
	t.Run("ErrPanicAfterWriteAnswers500", func(t *testing.T) {
		t.Parallel()
		resp, body := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, []byte(`{"partial":`))
			panic("boom")
		})
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "nothing had gone out: the client gets the error, not half a body")
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.NotContains(t, string(body), "partial")
		require.Equal(t, int64(len(body)), resp.ContentLength)
	})
	t.Run("OKPanicAfterFlushKeepsStatus", func(t *testing.T) {
		t.Parallel()
		resp, _ := serveThrough(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, big)
			require.NoError(t, http.NewResponseController(w).Flush())
			panic("boom")
		})
		require.Equal(t, http.StatusOK, resp.StatusCode, "the header had gone out")
	})
}
