package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
	"atrium/internal/llm"
)

const testKey = "sk-test-9f8e7d6c5b4a"

// upstream is a fake OpenAI-compatible server: it records each request and
// answers with the handler the test gives it.
type upstream struct {
	srv  *httptest.Server
	stop chan struct{} // closed at cleanup to release stalled handlers

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, Auth, Accept, ContentType string
	Body                                    map[string]any
}

func newUpstream(t *testing.T, h func(w http.ResponseWriter, r *http.Request, stop <-chan struct{})) *upstream {
	t.Helper()
	u := &upstream{stop: make(chan struct{})}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{
			Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
			Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type"),
		}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &rec.Body); err != nil {
				http.Error(w, "bad json", http.StatusBadRequest)
				return
			}
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, rec)
		u.mu.Unlock()
		h(w, r, u.stop)
	}))
	t.Cleanup(u.srv.Close)
	t.Cleanup(func() { close(u.stop) }) // runs before Close
	return u
}

func (u *upstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

func (u *upstream) provider(t *testing.T, mutate ...func(*llm.OpenAIConfig)) *llm.OpenAI {
	t.Helper()
	cfg := llm.OpenAIConfig{BaseURL: u.srv.URL + "/v1/", APIKey: testKey, Timeout: 2 * time.Second, HTTPClient: u.srv.Client()}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := llm.NewOpenAI(cfg)
	require.NoError(t, err)
	return p
}

func chatRequest() llm.Request {
	temp := 0.2
	return llm.Request{
		Model: "gpt-test",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "be brief"},
			{Role: llm.RoleUser, Content: "hello"},
		},
		Temperature: &temp,
		MaxTokens:   64,
	}
}

// sse writes server-sent events the way OpenAI does, flushing each.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

// timeoutTransport fails every request with a net.Error that timed out.
type timeoutTransport struct{}

func (timeoutTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, timeoutErr{} }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func stall(r *http.Request, stop <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-stop:
	}
}

// requireSafe asserts err is a provider error that tells nothing secret.
func requireSafe(t *testing.T, err error) *fault.Error {
	t.Helper()
	f := fault.As(err)
	require.NotNil(t, f, "a *fault.Error")
	require.Equal(t, fault.Unavailable, f.Code)
	require.NotContains(t, err.Error(), testKey)
	require.NotContains(t, f.Message, testKey)
	return f
}

func TestOpenAIComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-test-2024",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Hi there!"},"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`)
		})
		resp, err := u.provider(t).Complete(ctx, chatRequest())
		require.NoError(t, err)
		require.Equal(t, &llm.Response{
			Model: "gpt-test-2024", Content: "Hi there!", FinishReason: "stop",
			Usage: llm.Usage{PromptTokens: 12, CompletionTokens: 3},
		}, resp)

		reqs := u.requests()
		require.Len(t, reqs, 1)
		got := reqs[0]
		require.Equal(t, http.MethodPost, got.Method)
		require.Equal(t, "/v1/chat/completions", got.Path)
		require.Equal(t, "Bearer "+testKey, got.Auth)
		require.Equal(t, "application/json", got.ContentType)
		require.Equal(t, map[string]any{
			"model": "gpt-test",
			"messages": []any{
				map[string]any{"role": "system", "content": "be brief"},
				map[string]any{"role": "user", "content": "hello"},
			},
			"temperature": 0.2,
			"max_tokens":  float64(64),
			"stream":      false,
		}, got.Body)
	})

	t.Run("OKDefaultsOmitted", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			io.WriteString(w, `{"choices":[{"message":{"content":"ok"},"finish_reason":"length"}]}`)
		})
		r := chatRequest()
		r.Temperature, r.MaxTokens = nil, 0
		resp, err := u.provider(t, func(c *llm.OpenAIConfig) { c.APIKey = "" }).Complete(ctx, r)
		require.NoError(t, err)
		require.Equal(t, &llm.Response{Model: "gpt-test", Content: "ok", FinishReason: "length"}, resp)

		got := u.requests()[0]
		require.Empty(t, got.Auth, "no key, no Authorization header")
		require.NotContains(t, got.Body, "temperature")
		require.NotContains(t, got.Body, "max_tokens")
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+testKey+`. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
		})
		_, err := u.provider(t).Complete(ctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.ErrorIs(t, err, llm.ErrProvider)
		require.NotErrorIs(t, err, llm.ErrTimeout)
		f := requireSafe(t, err)
		require.Equal(t, "the model provider rejected the request (HTTP 401, invalid_request_error, invalid_api_key)", f.Message)
		require.NotContains(t, err.Error(), "Incorrect API key", "upstream free text stays out")
	})

	t.Run("ErrServer", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			http.Error(w, "upstream exploded", http.StatusInternalServerError)
		})
		_, err := u.provider(t).Complete(ctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Equal(t, "the model provider failed (HTTP 500)", requireSafe(t, err).Message)
	})

	t.Run("ErrTimeout", func(t *testing.T) {
		t.Parallel()
		// The upstream never answers; the provider's timer fires when the
		// test advances the clock past the timeout, not after real time.
		arrived := make(chan struct{}, 1)
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
			arrived <- struct{}{}
			stall(r, stop)
		})
		clock := newFakeTimers()
		p := u.provider(t, func(c *llm.OpenAIConfig) { c.Timeout = time.Minute; c.AfterFunc = clock.AfterFunc })
		errc := make(chan error, 1)
		go func() {
			_, err := p.Complete(ctx, chatRequest())
			errc <- err
		}()
		<-arrived
		clock.Advance(time.Minute - time.Nanosecond)
		select {
		case err := <-errc:
			t.Fatalf("returned before the timeout: %v", err)
		default:
		}
		clock.Advance(time.Nanosecond)
		err := <-errc
		require.ErrorIs(t, err, llm.ErrTimeout)
		require.NotErrorIs(t, err, llm.ErrUpstream)
		requireSafe(t, err)
	})

	t.Run("ErrTimeoutCallerDeadline", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) { stall(r, stop) })
		// A deadline already past: the caller's own deadline is reported
		// as a timeout, without waiting for one.
		dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err := u.provider(t).Complete(dctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrTimeout)
	})

	t.Run("ErrTimeoutHTTPClient", func(t *testing.T) {
		t.Parallel()
		// A transport that times out (as http.Client.Timeout or a dial
		// timeout does) is a timeout, not an unreachable provider.
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) { stall(r, stop) })
		_, err := u.provider(t, func(c *llm.OpenAIConfig) {
			c.HTTPClient = &http.Client{Transport: timeoutTransport{}}
		}).Complete(ctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrTimeout)
	})

	t.Run("ErrUnreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		p, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.URL, APIKey: testKey})
		require.NoError(t, err)
		_, err = p.Complete(ctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Equal(t, "the model provider is unreachable", requireSafe(t, err).Message)
	})

	t.Run("ErrMalformed", func(t *testing.T) {
		t.Parallel()
		for name, body := range map[string]string{
			"NotJSON":   `<html>gateway</html>`,
			"NoChoices": `{"choices":[]}`,
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { io.WriteString(w, body) })
				_, err := u.provider(t).Complete(ctx, chatRequest())
				require.ErrorIs(t, err, llm.ErrUpstream)
				requireSafe(t, err)
			})
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			io.WriteString(w, `{"choices":[{"message":{"content":"`)
			w.Write([]byte(strings.Repeat("a", llm.MaxResponseBytes)))
			io.WriteString(w, `"}}]}`)
		})
		_, err := u.provider(t).Complete(ctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Contains(t, requireSafe(t, err).Message, "too large")
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {})
		_, err := u.provider(t).Complete(ctx, llm.Request{Model: "gpt-test"})
		require.Equal(t, fault.Invalid, fault.CodeOf(err))
		require.Empty(t, u.requests(), "an invalid request never leaves")
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {})
		p := u.provider(t, func(c *llm.OpenAIConfig) { c.Models = []string{"other"} })
		_, err := p.Complete(ctx, chatRequest())
		require.ErrorIs(t, err, llm.ErrUnknownModel)
		require.Equal(t, fault.Invalid, fault.CodeOf(err))
		require.Empty(t, u.requests())
	})
}

// streamEvents is what OpenAI sends for "Hi there!" with include_usage.
var streamEvents = []string{
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test-2024","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test-2024","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test-2024","choices":[{"index":0,"delta":{"content":" there"},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test-2024","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":null}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test-2024","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test-2024","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`,
	`[DONE]`,
}

func collect(chunks *[]llm.Chunk) func(llm.Chunk) error {
	return func(c llm.Chunk) error {
		*chunks = append(*chunks, c)
		return nil
	}
}

func TestOpenAIStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			io.WriteString(w, ": keep-alive comment\n\n") // comments are ignored
			sse(w, streamEvents...)
		})
		var chunks []llm.Chunk
		resp, err := u.provider(t).Stream(ctx, chatRequest(), collect(&chunks))
		require.NoError(t, err)
		usage := llm.Usage{PromptTokens: 12, CompletionTokens: 3}
		require.Equal(t, []llm.Chunk{
			{Delta: "Hi"}, {Delta: " there"}, {Delta: "!"},
			{FinishReason: "stop", Usage: &usage},
		}, chunks)
		require.Equal(t, &llm.Response{Model: "gpt-test-2024", Content: "Hi there!", FinishReason: "stop", Usage: usage}, resp)

		got := u.requests()[0]
		require.Equal(t, "/v1/chat/completions", got.Path)
		require.Equal(t, "Bearer "+testKey, got.Auth)
		require.Equal(t, "text/event-stream", got.Accept)
		require.Equal(t, true, got.Body["stream"])
		require.Equal(t, map[string]any{"include_usage": true}, got.Body["stream_options"])
		require.Equal(t, "gpt-test", got.Body["model"])
		require.Len(t, got.Body["messages"], 2)
	})

	t.Run("OKWithoutUsage", func(t *testing.T) {
		t.Parallel()
		// Some servers ignore include_usage, and some end without [DONE].
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			sse(w, streamEvents[1], streamEvents[2], streamEvents[4])
		})
		var chunks []llm.Chunk
		resp, err := u.provider(t).Stream(ctx, chatRequest(), collect(&chunks))
		require.NoError(t, err)
		require.Equal(t, []llm.Chunk{{Delta: "Hi"}, {Delta: " there"}, {FinishReason: "stop"}}, chunks)
		require.Equal(t, llm.Usage{}, resp.Usage)
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+testKey+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
		})
		var chunks []llm.Chunk
		_, err := u.provider(t).Stream(ctx, chatRequest(), collect(&chunks))
		require.ErrorIs(t, err, llm.ErrUpstream)
		requireSafe(t, err)
		require.Empty(t, chunks)
	})

	t.Run("ErrMalformed", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			sse(w, streamEvents[1], `{"choices":[{"delta":{"content":`, `[DONE]`)
		})
		var chunks []llm.Chunk
		_, err := u.provider(t).Stream(ctx, chatRequest(), collect(&chunks))
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Equal(t, "the model provider sent an unreadable stream", requireSafe(t, err).Message)
		require.Equal(t, []llm.Chunk{{Delta: "Hi"}}, chunks)
	})

	t.Run("ErrEndedEarly", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			sse(w, streamEvents[1], streamEvents[2])
		})
		_, err := u.provider(t).Stream(ctx, chatRequest(), collect(new([]llm.Chunk)))
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Contains(t, requireSafe(t, err).Message, "ended early")
	})

	t.Run("ErrInStream", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			sse(w, streamEvents[1], `{"error":{"message":"overloaded, key `+testKey+`","type":"server_error","code":null}}`)
		})
		_, err := u.provider(t).Stream(ctx, chatRequest(), collect(new([]llm.Chunk)))
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Equal(t, "the model provider failed while streaming (server_error)", requireSafe(t, err).Message)
	})

	t.Run("ErrTimeoutIdle", func(t *testing.T) {
		t.Parallel()
		clock := newFakeTimers()
		got := make(chan int, 1)
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
			sse(w, streamEvents[1])
			// Once the chunk is handed over and the timer re-armed after it,
			// the upstream goes silent for longer than the timeout.
			select {
			case n := <-got:
				clock.waitResets(r.Context(), n+1)
				clock.Advance(101 * time.Millisecond)
			case <-r.Context().Done():
			}
			stall(r, stop)
		})
		var chunks []llm.Chunk
		_, err := u.provider(t, func(c *llm.OpenAIConfig) { c.Timeout = 100 * time.Millisecond; c.AfterFunc = clock.AfterFunc }).
			Stream(ctx, chatRequest(), func(c llm.Chunk) error {
				chunks = append(chunks, c)
				got <- clock.Resets()
				return nil
			})
		require.ErrorIs(t, err, llm.ErrTimeout)
		requireSafe(t, err)
		require.Equal(t, []llm.Chunk{{Delta: "Hi"}}, chunks)
	})

	t.Run("OKSlowButSteady", func(t *testing.T) {
		t.Parallel()
		// The timeout bounds silence, not the whole stream: each gap is two
		// thirds of the timeout, and the whole stream lasts many timeouts.
		clock := newFakeTimers()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			for _, e := range streamEvents {
				n := clock.Resets()
				sse(w, e)
				if !clock.waitResets(r.Context(), n+1) {
					return
				}
				clock.Advance(100 * time.Millisecond)
			}
		})
		resp, err := u.provider(t, func(c *llm.OpenAIConfig) { c.Timeout = 150 * time.Millisecond; c.AfterFunc = clock.AfterFunc }).
			Stream(ctx, chatRequest(), collect(new([]llm.Chunk)))
		require.NoError(t, err)
		require.Equal(t, "Hi there!", resp.Content)
		require.Greater(t, clock.Elapsed(), 150*time.Millisecond)
	})

	t.Run("ErrCanceledMidStream", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
			sse(w, streamEvents[1])
			stall(r, stop)
		})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var chunks []llm.Chunk
		// The idle timer never fires (its clock stands still): only the
		// cancellation can end the stream.
		clock := newFakeTimers()
		_, err := u.provider(t, func(c *llm.OpenAIConfig) { c.AfterFunc = clock.AfterFunc }).
			Stream(cctx, chatRequest(), func(c llm.Chunk) error {
				chunks = append(chunks, c)
				cancel() // the client went away after the first chunk
				return nil
			})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, llm.ErrProvider)
		require.Equal(t, []llm.Chunk{{Delta: "Hi"}}, chunks)
	})

	t.Run("ErrCallback", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { sse(w, streamEvents...) })
		stop := errors.New("write failed")
		n := 0
		_, err := u.provider(t).Stream(ctx, chatRequest(), func(llm.Chunk) error {
			n++
			return stop
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, n)
	})

	t.Run("ErrLineTooLong", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			sse(w, `{"choices":[{"delta":{"content":"`+strings.Repeat("a", 2<<20)+`"}}]}`)
		})
		_, err := u.provider(t).Stream(ctx, chatRequest(), collect(new([]llm.Chunk)))
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Contains(t, requireSafe(t, err).Message, "too large")
	})
}

func TestOpenAIModels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			io.WriteString(w, `{"object":"list","data":[
				{"id":"llama3:8b","object":"model","created":1,"owned_by":"library"},
				{"id":"gpt-test","object":"model","created":1,"owned_by":"system","max_model_len":32768}]}`)
		})
		ms, err := u.provider(t, func(c *llm.OpenAIConfig) { c.Name = "local" }).Models(ctx)
		require.NoError(t, err)
		require.Equal(t, []llm.Model{
			{ID: "gpt-test", Provider: "local", ContextWindow: 32768},
			{ID: "llama3:8b", Provider: "local"},
		}, ms)
		got := u.requests()[0]
		require.Equal(t, http.MethodGet, got.Method)
		require.Equal(t, "/v1/models", got.Path)
		require.Equal(t, "Bearer "+testKey, got.Auth)
	})

	t.Run("OKAllowList", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {})
		ms, err := u.provider(t, func(c *llm.OpenAIConfig) { c.Models = []string{"a", " b ", "a", ""} }).Models(ctx)
		require.NoError(t, err)
		require.Equal(t, []llm.Model{{ID: "a", Provider: "openai"}, {ID: "b", Provider: "openai"}}, ms)
		require.Empty(t, u.requests(), "an allow list needs no upstream")
	})

	t.Run("ErrServer", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			w.WriteHeader(http.StatusBadGateway)
		})
		_, err := u.provider(t).Models(ctx)
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Equal(t, "the model provider failed (HTTP 502)", requireSafe(t, err).Message)
	})
}

func TestNewOpenAI(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		p, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: "http://localhost:11434/v1"})
		require.NoError(t, err)
		require.Equal(t, "openai", p.Name())
	})

	t.Run("ErrBaseURL", func(t *testing.T) {
		t.Parallel()
		for _, base := range []string{"", "localhost:11434/v1", "ftp://example.com", "http://"} {
			_, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: base})
			require.Error(t, err, base)
		}
	})

	t.Run("ErrTimeout", func(t *testing.T) {
		t.Parallel()
		_, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: "http://localhost/v1", Timeout: -time.Second})
		require.Error(t, err)
	})
}

// fakeTimers is a manual clock for the stream's idle timer: time moves only
// when a test calls Advance, so no test waits for a timeout to pass.
type fakeTimers struct {
	mu      sync.Mutex
	now     time.Duration
	resets  int
	changed chan struct{} // closed and replaced on every Reset
	timers  []*fakeTimer
}

type fakeTimer struct {
	c      *fakeTimers
	at     time.Duration
	f      func()
	active bool
}

func newFakeTimers() *fakeTimers { return &fakeTimers{changed: make(chan struct{})} }

// AfterFunc implements llm.OpenAIConfig.AfterFunc.
func (c *fakeTimers) AfterFunc(d time.Duration, f func()) llm.IdleTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now + d, f: f, active: true}
	c.timers = append(c.timers, t)
	return t
}

// Resets counts the timers' Reset calls so far.
func (c *fakeTimers) Resets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

// Elapsed is how far the clock has been advanced.
func (c *fakeTimers) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// waitResets blocks until Reset has been called n times, or ctx ends. A
// generous guard turns a timer that is never re-armed into a failure rather
// than a hang; it bounds the wait, it measures nothing.
func (c *fakeTimers) waitResets(ctx context.Context, n int) bool {
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	for {
		c.mu.Lock()
		done, ch := c.resets >= n, c.changed
		c.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-guard.C:
			return false
		}
	}
}

// Advance moves the clock and runs the timers that fall due.
func (c *fakeTimers) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	var due []func()
	for _, t := range c.timers {
		if t.active && t.at <= c.now {
			t.active = false
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.at, t.active = t.c.now+d, true
	t.c.resets++
	close(t.c.changed)
	t.c.changed = make(chan struct{})
	return was
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}
