// Package llm is Atrium's seam to language models: a Provider interface, an
// offline deterministic Echo provider (the default), an OpenAI-compatible HTTP
// provider (OpenAI, vLLM, Ollama, llama.cpp server, …) and a Registry that
// picks the provider serving a model id.
//
// Errors are *fault.Error values. Bad requests carry fault.Invalid; provider
// failures carry fault.Unavailable and wrap ErrUpstream or ErrTimeout (both
// wrap ErrProvider), so the HTTP layer can answer 502 or 504 with errors.Is.
// Messages are safe for clients: they never contain the API key or text
// written by the upstream server.
package llm

import (
	"context"
	"errors"
	"fmt"

	"atrium/internal/fault"
)

// Roles a Message may have.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Finish reasons reported by the providers in this package. OpenAI-compatible
// servers may report others (for example "content_filter"); they pass through.
const (
	FinishStop   = "stop"   // the model ended its reply
	FinishLength = "length" // the reply hit MaxTokens
)

// Sentinel errors. Match them with errors.Is; the returned errors are
// *fault.Error values whose chain contains these.
var (
	// ErrProvider is the parent of every provider failure.
	ErrProvider = errors.New("llm: provider failure")
	// ErrUpstream means the provider answered with an error, an unusable
	// response or not at all (connection refused). The API maps it to 502.
	ErrUpstream = fmt.Errorf("%w: upstream error", ErrProvider)
	// ErrTimeout means the provider did not answer in time. The API maps it
	// to 504.
	ErrTimeout = fmt.Errorf("%w: timeout", ErrProvider)
	// ErrUnknownModel means no provider serves the requested model. It comes
	// wrapped in a fault.Invalid error (400).
	ErrUnknownModel = errors.New("llm: unknown model")
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // system, user or assistant
	Content string
}

// Request asks a model for the next assistant message.
type Request struct {
	Model       string
	Messages    []Message
	Temperature *float64 // nil leaves the provider's default
	MaxTokens   int      // 0 leaves the provider's default
}

// Usage counts tokens as the provider reports them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Response is a complete assistant reply.
type Response struct {
	Model        string
	Content      string
	FinishReason string
	Usage        Usage
}

// Chunk is one piece of a streamed reply. A stream is zero or more chunks
// with a Delta, then exactly one final chunk with an empty Delta, a non-empty
// FinishReason and, when the provider reported it, Usage.
type Chunk struct {
	Delta        string
	FinishReason string
	Usage        *Usage
}

// Model describes one model a provider serves.
type Model struct {
	ID            string
	Provider      string
	ContextWindow int // tokens; 0 when the provider does not say
}

// Provider talks to one source of models. Implementations validate the
// request and return *fault.Error values as described in the package comment.
type Provider interface {
	Name() string
	Models(ctx context.Context) ([]Model, error)
	Complete(ctx context.Context, r Request) (*Response, error)
	// Stream calls fn for each chunk in order; it returns the assembled
	// Response (with usage) at the end. An error from fn stops the stream
	// and is returned as is.
	Stream(ctx context.Context, r Request, fn func(Chunk) error) (*Response, error)
}

// The providers of this package satisfy Provider.
var (
	_ Provider = (*Echo)(nil)
	_ Provider = (*OpenAI)(nil)
)

// Validate reports every problem with r at once as a fault.Invalid error.
func (r Request) Validate() error {
	var fs []fault.FieldError
	if r.Model == "" {
		fs = append(fs, fault.FieldError{Field: "model", Message: "is required"})
	}
	if len(r.Messages) == 0 {
		fs = append(fs, fault.FieldError{Field: "messages", Message: "must contain at least one message"})
	}
	for i, m := range r.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			fs = append(fs, fault.FieldError{
				Field:   fmt.Sprintf("messages[%d].role", i),
				Message: "must be system, user or assistant",
			})
		}
	}
	if t := r.Temperature; t != nil && (*t < 0 || *t > 2) {
		fs = append(fs, fault.FieldError{Field: "temperature", Message: "must be between 0 and 2"})
	}
	if r.MaxTokens < 0 {
		fs = append(fs, fault.FieldError{Field: "max_tokens", Message: "must not be negative"})
	}
	return fault.Fields(fs...)
}

// unknownModel is the error for a model nobody serves. The id is the
// client's own input, so it may appear in the message, shortened.
func unknownModel(id string) error {
	const limit = 100
	if len(id) > limit {
		id = id[:limit] + "…"
	}
	return &fault.Error{
		Code:    fault.Invalid,
		Message: fmt.Sprintf("unknown model %q", id),
		Fields:  []fault.FieldError{{Field: "model", Message: "is not served by any provider"}},
		Err:     ErrUnknownModel,
	}
}

func upstreamError(message string, cause error) error {
	err := ErrUpstream
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrUpstream, cause)
	}
	return &fault.Error{Code: fault.Unavailable, Message: message, Err: err}
}

func timeoutError(cause error) error {
	err := ErrTimeout
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrTimeout, cause)
	}
	return &fault.Error{Code: fault.Unavailable, Message: "the model provider did not answer in time", Err: err}
}

// canceledError reports that the caller gave up; cause (context.Canceled)
// stays in the chain so callers can tell it from a provider failure.
func canceledError(cause error) error {
	return &fault.Error{Code: fault.Unavailable, Message: "the request was canceled", Err: fmt.Errorf("llm: %w", cause)}
}

// ctxError classifies an ended context of the caller.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return timeoutError(err)
	}
	return canceledError(err)
}
