package llm

import (
	"context"
	"strings"
)

// EchoModel is the one model the Echo provider serves.
const EchoModel = "echo-1"

// echoContextWindow is what Echo reports as its context window; Echo does not
// enforce it.
const echoContextWindow = 8192

// Echo is an offline, deterministic provider: the default, so that tests and
// the embedded default need no network and no model.
//
// The reply is "echo:" followed by the words of the last user message, joined
// by single spaces ("echo:" alone when there is no user message). Tokens are
// whitespace-separated words (strings.Fields): PromptTokens counts the words
// of every message, CompletionTokens the words of the reply. With MaxTokens
// > 0 the reply is cut to that many words and finishes with "length".
// Streaming sends one word per chunk, each after the first with its leading
// space, so the deltas concatenate to the reply. Temperature is ignored.
type Echo struct{}

// NewEcho returns the Echo provider.
func NewEcho() *Echo { return &Echo{} }

// Name returns "echo".
func (*Echo) Name() string { return "echo" }

// Models returns echo-1.
func (e *Echo) Models(context.Context) ([]Model, error) { return e.staticModels(), nil }

func (e *Echo) staticModels() []Model {
	return []Model{{ID: EchoModel, Provider: e.Name(), ContextWindow: echoContextWindow}}
}

// Complete returns the echo reply.
func (e *Echo) Complete(ctx context.Context, r Request) (*Response, error) {
	return e.Stream(ctx, r, nil)
}

// Stream sends the echo reply word by word.
func (e *Echo) Stream(ctx context.Context, r Request, fn func(Chunk) error) (*Response, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Model != EchoModel {
		return nil, unknownModel(r.Model)
	}
	words, finish := echoReply(r)
	usage := Usage{PromptTokens: promptTokens(r.Messages), CompletionTokens: len(words)}
	if fn != nil {
		for i, w := range words {
			if err := ctx.Err(); err != nil {
				return nil, ctxError(ctx)
			}
			if i > 0 {
				w = " " + w
			}
			if err := fn(Chunk{Delta: w}); err != nil {
				return nil, err
			}
		}
		if err := fn(Chunk{FinishReason: finish, Usage: &usage}); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx)
	}
	return &Response{Model: EchoModel, Content: strings.Join(words, " "), FinishReason: finish, Usage: usage}, nil
}

func echoReply(r Request) (words []string, finish string) {
	words = []string{"echo:"}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == RoleUser {
			words = append(words, strings.Fields(r.Messages[i].Content)...)
			break
		}
	}
	if r.MaxTokens > 0 && len(words) > r.MaxTokens {
		return words[:r.MaxTokens], FinishLength
	}
	return words, FinishStop
}

// promptTokens counts whitespace-separated words in every message.
func promptTokens(ms []Message) int {
	n := 0
	for _, m := range ms {
		n += len(strings.Fields(m.Content))
	}
	return n
}
