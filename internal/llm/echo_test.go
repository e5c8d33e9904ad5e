package llm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
	"atrium/internal/llm"
)

func echoRequest() llm.Request {
	return llm.Request{
		Model: llm.EchoModel,
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "be brief"},
			{Role: llm.RoleUser, Content: "first  question"},
			{Role: llm.RoleAssistant, Content: "first answer"},
			{Role: llm.RoleUser, Content: " what\tis   the\nanswer "},
		},
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e := llm.NewEcho()
		resp, err := e.Complete(ctx, echoRequest())
		require.NoError(t, err)
		require.Equal(t, &llm.Response{
			Model:        llm.EchoModel,
			Content:      "echo: what is the answer",
			FinishReason: llm.FinishStop,
			Usage:        llm.Usage{PromptTokens: 2 + 2 + 2 + 4, CompletionTokens: 5},
		}, resp)

		again, err := e.Complete(ctx, echoRequest())
		require.NoError(t, err)
		require.Equal(t, resp, again, "the reply is a fixed function of the request")
	})

	t.Run("OKStream", func(t *testing.T) {
		t.Parallel()
		e := llm.NewEcho()
		var chunks []llm.Chunk
		resp, err := e.Stream(ctx, echoRequest(), func(c llm.Chunk) error {
			chunks = append(chunks, c)
			return nil
		})
		require.NoError(t, err)
		want, err := e.Complete(ctx, echoRequest())
		require.NoError(t, err)
		require.Equal(t, want, resp)

		require.Equal(t, []llm.Chunk{
			{Delta: "echo:"}, {Delta: " what"}, {Delta: " is"}, {Delta: " the"}, {Delta: " answer"},
			{FinishReason: llm.FinishStop, Usage: &want.Usage},
		}, chunks)
		var b strings.Builder
		for _, c := range chunks {
			b.WriteString(c.Delta)
		}
		require.Equal(t, resp.Content, b.String())
	})

	t.Run("OKNoUserMessage", func(t *testing.T) {
		t.Parallel()
		resp, err := llm.NewEcho().Complete(ctx, llm.Request{
			Model:    llm.EchoModel,
			Messages: []llm.Message{{Role: llm.RoleSystem, Content: "hi there"}},
		})
		require.NoError(t, err)
		require.Equal(t, "echo:", resp.Content)
		require.Equal(t, llm.Usage{PromptTokens: 2, CompletionTokens: 1}, resp.Usage)
	})

	t.Run("OKMaxTokens", func(t *testing.T) {
		t.Parallel()
		r := echoRequest()
		r.MaxTokens = 3
		resp, err := llm.NewEcho().Complete(ctx, r)
		require.NoError(t, err)
		require.Equal(t, "echo: what is", resp.Content)
		require.Equal(t, llm.FinishLength, resp.FinishReason)
		require.Equal(t, 3, resp.Usage.CompletionTokens)
	})

	t.Run("OKModels", func(t *testing.T) {
		t.Parallel()
		ms, err := llm.NewEcho().Models(ctx)
		require.NoError(t, err)
		require.Equal(t, []llm.Model{{ID: "echo-1", Provider: "echo", ContextWindow: 8192}}, ms)
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		r := echoRequest()
		r.Model = "gpt-4o"
		_, err := llm.NewEcho().Complete(ctx, r)
		require.ErrorIs(t, err, llm.ErrUnknownModel)
		require.Equal(t, fault.Invalid, fault.CodeOf(err))
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		hot := 2.5
		_, err := llm.NewEcho().Complete(ctx, llm.Request{
			Messages:    []llm.Message{{Role: "tool", Content: "x"}},
			Temperature: &hot,
			MaxTokens:   -1,
		})
		f := fault.As(err)
		require.NotNil(t, f)
		require.Equal(t, fault.Invalid, f.Code)
		var fields []string
		for _, fe := range f.Fields {
			fields = append(fields, fe.Field)
		}
		require.Equal(t, []string{"model", "messages[0].role", "temperature", "max_tokens"}, fields)
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := llm.NewEcho().Stream(cctx, echoRequest(), func(llm.Chunk) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, llm.ErrProvider)
	})

	t.Run("ErrCallback", func(t *testing.T) {
		t.Parallel()
		stop := errors.New("client went away")
		n := 0
		_, err := llm.NewEcho().Stream(ctx, echoRequest(), func(llm.Chunk) error {
			n++
			return stop
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, n, "the stream stops at the first error")
	})
}
