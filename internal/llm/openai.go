package llm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Limits on what the OpenAI provider reads from upstream.
const (
	// MaxResponseBytes bounds a response body, a whole stream included.
	MaxResponseBytes = 8 << 20
	// maxErrorBytes bounds the error body read from a failed request.
	maxErrorBytes = 64 << 10
	// maxLineBytes bounds one line of a stream.
	maxLineBytes = 1 << 20
	// DefaultTimeout is the OpenAI provider's timeout when none is set.
	DefaultTimeout = 60 * time.Second
)

// OpenAIConfig configures an OpenAI-compatible provider.
type OpenAIConfig struct {
	// Name is what Name() reports and Model.Provider carries; default "openai".
	Name string
	// BaseURL is the API root, without /chat/completions: for example
	// https://api.openai.com/v1, http://localhost:11434/v1 (Ollama),
	// http://localhost:8000/v1 (vLLM), http://localhost:8080/v1 (llama.cpp).
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" when not empty. It is
	// never logged and never part of an error.
	APIKey string
	// Timeout bounds Complete and Models as a whole, and for Stream the wait
	// for the response headers and every gap between two stream lines, so a
	// long reply that keeps flowing is not cut. Default DefaultTimeout.
	Timeout time.Duration
	// HTTPClient sends the requests; default a new http.Client.
	HTTPClient *http.Client
	// AfterFunc starts the provider's timers (the whole-request timeout of
	// Complete and Models, the stream's idle timer); default time.AfterFunc.
	// Tests inject a fake so that a silent upstream is simulated, not waited for.
	AfterFunc func(d time.Duration, f func()) IdleTimer
	// Models is an optional allow list: when set, Models returns it without
	// asking upstream and requests for other models fail with ErrUnknownModel.
	// When empty, Models asks GET {BaseURL}/models.
	Models []string
}

// OpenAI speaks the OpenAI chat-completions wire format.
type OpenAI struct {
	name    string
	base    string
	key     string
	timeout time.Duration
	client  *http.Client
	allow   []string
	after   func(time.Duration, func()) IdleTimer
}

// IdleTimer is the stream's idle timer: *time.Timer, or a test's fake.
type IdleTimer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

func realAfterFunc(d time.Duration, f func()) IdleTimer { return time.AfterFunc(d, f) }

// NewOpenAI returns an OpenAI-compatible provider, or an error when the
// configuration is unusable.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("llm: the base URL must be an absolute http or https URL")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("llm: the timeout must not be negative")
	}
	p := &OpenAI{
		name:    cfg.Name,
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		key:     cfg.APIKey,
		timeout: cfg.Timeout,
		client:  cfg.HTTPClient,
		after:   cfg.AfterFunc,
	}
	if p.after == nil {
		p.after = realAfterFunc
	}
	if p.name == "" {
		p.name = "openai"
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.client == nil {
		p.client = &http.Client{}
	}
	for _, m := range cfg.Models {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(p.allow, m) {
			p.allow = append(p.allow, m)
		}
	}
	return p, nil
}

// Name returns the configured name, "openai" by default.
func (p *OpenAI) Name() string { return p.name }

// staticModels returns the allow list, or nil when the catalog is upstream's.
func (p *OpenAI) staticModels() []Model {
	if len(p.allow) == 0 {
		return nil
	}
	ms := make([]Model, len(p.allow))
	for i, id := range p.allow {
		ms[i] = Model{ID: id, Provider: p.name}
	}
	return ms
}

// Models returns the allow list, or else GET {base}/models sorted by id.
// vLLM's max_model_len fills ContextWindow when present.
func (p *OpenAI) Models(ctx context.Context) ([]Model, error) {
	if ms := p.staticModels(); ms != nil {
		return ms, nil
	}
	tctx, cancel := p.withTimeout(ctx)
	defer cancel()
	resp, err := p.send(ctx, tctx, http.MethodGet, "/models", nil, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body, MaxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, tctx, err)
	}
	var list struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, upstreamError("the model provider sent an unreadable model list", err)
	}
	ms := make([]Model, 0, len(list.Data))
	for _, d := range list.Data {
		if d.ID != "" {
			ms = append(ms, Model{ID: d.ID, Provider: p.name, ContextWindow: d.MaxModelLen})
		}
	}
	slices.SortFunc(ms, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	return ms, nil
}

// Complete sends a non-streaming chat completion.
func (p *OpenAI) Complete(ctx context.Context, r Request) (*Response, error) {
	if err := p.check(r); err != nil {
		return nil, err
	}
	tctx, cancel := p.withTimeout(ctx)
	defer cancel()
	resp, err := p.send(ctx, tctx, http.MethodPost, "/chat/completions", p.body(r, false), false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body, MaxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, tctx, err)
	}
	var c struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage *wireUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, upstreamError("the model provider sent an unreadable response", err)
	}
	if len(c.Choices) == 0 {
		return nil, upstreamError("the model provider sent no reply", nil)
	}
	out := &Response{
		Model:        orDefault(c.Model, r.Model),
		Content:      c.Choices[0].Message.Content,
		FinishReason: orDefault(c.Choices[0].FinishReason, FinishStop),
	}
	if c.Usage != nil {
		out.Usage = c.Usage.usage()
	}
	return out, nil
}

// Stream sends a streaming chat completion and reads its server-sent events.
func (p *OpenAI) Stream(ctx context.Context, r Request, fn func(Chunk) error) (*Response, error) {
	if err := p.check(r); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := p.after(p.timeout, func() { cancel(errIdle) })
	defer idle.Stop()

	resp, err := p.send(ctx, sctx, http.MethodPost, "/chat/completions", p.body(r, true), true)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	s := &streamState{model: r.Model, fn: fn}
	sc := bufio.NewScanner(&boundedReader{r: resp.Body, n: MaxResponseBytes})
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var data []byte
	pending := false
	for !s.done && sc.Scan() {
		idle.Reset(p.timeout)
		line := sc.Bytes()
		if len(line) == 0 { // an empty line dispatches the event
			if pending {
				if err := s.event(ctx, data); err != nil {
					return nil, err
				}
				idle.Reset(p.timeout) // time spent in fn is not upstream's silence
			}
			data, pending = data[:0], false
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if len(field) == 0 || string(field) != "data" { // comments, event:, id:, retry:
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if pending {
			data = append(data, '\n')
		}
		data, pending = append(data, value...), true
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, errTooLarge) || errors.Is(err, bufio.ErrTooLong) {
			return nil, upstreamError("the model provider sent too large a stream", err)
		}
		return nil, p.readError(ctx, sctx, err)
	}
	if !s.done && pending { // the last event may lack its empty line
		if err := s.event(ctx, data); err != nil {
			return nil, err
		}
	}
	if !s.done && s.finish == "" {
		return nil, upstreamError("the model provider's stream ended early", nil)
	}
	return s.end(ctx)
}

// errIdle is the cancel cause when a stream goes quiet for the timeout.
var errIdle = errors.New("llm: stream idle timeout")

// streamState assembles a streamed reply.
type streamState struct {
	fn      func(Chunk) error
	model   string
	content strings.Builder
	finish  string
	usage   *Usage
	done    bool
}

// event handles the data of one server-sent event.
func (s *streamState) event(ctx context.Context, data []byte) error {
	if string(bytes.TrimSpace(data)) == "[DONE]" {
		s.done = true
		return nil
	}
	var c struct {
		Model   string `json:"model"`
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage *wireUsage      `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return upstreamError("the model provider sent an unreadable stream", err)
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		typ, code := parseWireError(c.Error)
		return upstreamError("the model provider failed while streaming"+describe(0, typ, code), nil)
	}
	if c.Model != "" {
		s.model = c.Model
	}
	if c.Usage != nil {
		u := c.Usage.usage()
		s.usage = &u
	}
	if len(c.Choices) == 0 {
		return nil
	}
	ch := c.Choices[0]
	if ch.FinishReason != "" {
		s.finish = ch.FinishReason
	}
	if ch.Delta.Content == "" {
		return nil
	}
	if ctx.Err() != nil {
		return ctxError(ctx)
	}
	s.content.WriteString(ch.Delta.Content)
	if s.fn != nil {
		return s.fn(Chunk{Delta: ch.Delta.Content})
	}
	return nil
}

// end sends the final chunk and returns the assembled response.
func (s *streamState) end(ctx context.Context) (*Response, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx)
	}
	out := &Response{Model: s.model, Content: s.content.String(), FinishReason: orDefault(s.finish, FinishStop)}
	if s.usage != nil {
		out.Usage = *s.usage
	}
	if s.fn != nil {
		if err := s.fn(Chunk{FinishReason: out.FinishReason, Usage: s.usage}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *OpenAI) check(r Request) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(p.allow) > 0 && !slices.Contains(p.allow, r.Model) {
		return unknownModel(r.Model)
	}
	return nil
}

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type wireRequest struct {
	Model         string             `json:"model"`
	Messages      []wireMessage      `json:"messages"`
	Temperature   *float64           `json:"temperature,omitempty"`
	MaxTokens     int                `json:"max_tokens,omitempty"`
	Stream        bool               `json:"stream"`
	StreamOptions *wireStreamOptions `json:"stream_options,omitempty"`
}

type wireStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func (u wireUsage) usage() Usage {
	return Usage(u)
}

func (p *OpenAI) body(r Request, stream bool) []byte {
	w := wireRequest{
		Model:       r.Model,
		Messages:    make([]wireMessage, len(r.Messages)),
		Temperature: r.Temperature,
		MaxTokens:   r.MaxTokens,
		Stream:      stream,
	}
	for i, m := range r.Messages {
		w.Messages[i] = wireMessage(m)
	}
	if stream {
		w.StreamOptions = &wireStreamOptions{IncludeUsage: true}
	}
	b, _ := json.Marshal(w) // plain strings, ints and floats always marshal
	return b
}

// withTimeout is ctx cancelled after p.timeout by the provider's timer
// (AfterFunc), so a test fires the timeout instead of waiting for it.
func (p *OpenAI) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	tctx, cancel := context.WithCancelCause(ctx)
	t := p.after(p.timeout, func() { cancel(context.DeadlineExceeded) })
	return tctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// send performs one request under tctx (the caller's ctx with the timeout)
// and turns transport failures and non-2xx answers into classified errors.
func (p *OpenAI) send(ctx, tctx context.Context, method, path string, body []byte, stream bool) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(tctx, method, p.base+path, rd)
	if err != nil {
		return nil, upstreamError("the model provider's address is unusable", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if p.key != "" {
		req.Header.Set("Authorization", "Bearer "+p.key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.transportError(ctx, tctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	eb, _ := readBounded(resp.Body, maxErrorBytes)
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	var typ, code string
	if json.Unmarshal(eb, &e) == nil && len(e.Error) > 0 {
		typ, code = parseWireError(e.Error)
	}
	msg := "the model provider rejected the request"
	if resp.StatusCode >= 500 {
		msg = "the model provider failed"
	}
	// Only the status and the sanitized type and code are kept; upstream's
	// free text may quote the key (OpenAI's 401 shows part of it).
	return nil, upstreamError(msg+describe(resp.StatusCode, typ, code), fmt.Errorf("HTTP %d", resp.StatusCode))
}

// transportError classifies a failure to send or read: the caller's own
// context first, then our timeout, then anything else as unreachable.
func (p *OpenAI) transportError(ctx, tctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx)
	}
	var ne net.Error
	if tctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return timeoutError(p.redact(err))
	}
	return upstreamError("the model provider is unreachable", p.redact(err))
}

func (p *OpenAI) readError(ctx, tctx context.Context, err error) error {
	if errors.Is(err, errTooLarge) {
		return upstreamError("the model provider sent too large a response", err)
	}
	if ctx.Err() != nil || tctx.Err() != nil {
		return p.transportError(ctx, tctx, err)
	}
	return upstreamError("the model provider's response broke off", p.redact(err))
}

// redact keeps the key out of an error even if some layer quoted it.
func (p *OpenAI) redact(err error) error {
	if err == nil || p.key == "" || !strings.Contains(err.Error(), p.key) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), p.key, "[redacted]"))
}

// parseWireError reads an OpenAI error object ({"type", "code", …}); some
// servers send a plain string instead, which is ignored.
func parseWireError(raw json.RawMessage) (typ, code string) {
	var e struct {
		Type string          `json:"type"`
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	return safeToken(e.Type), safeToken(strings.Trim(string(e.Code), `"`))
}

// safeToken keeps an identifier such as "invalid_request_error" and drops
// anything else, so no upstream free text reaches a message.
func safeToken(s string) string {
	if s == "" || s == "null" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return ""
		}
	}
	return s
}

func describe(status int, typ, code string) string {
	var parts []string
	if status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", status))
	}
	if typ != "" {
		parts = append(parts, typ)
	}
	if code != "" && code != typ {
		parts = append(parts, code)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// errTooLarge reports a body over its limit.
var errTooLarge = errors.New("llm: response too large")

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(&boundedReader{r: r, n: limit})
	return b, err
}

// boundedReader fails with errTooLarge once more than n bytes were read.
type boundedReader struct {
	r io.Reader
	n int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.n+1 {
		p = p[:b.n+1]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n < 0 {
		return n, errTooLarge
	}
	return n, err
}
