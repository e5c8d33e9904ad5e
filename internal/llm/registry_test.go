package llm_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"atrium/internal/fault"
	"atrium/internal/llm"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	modelList := func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		io.WriteString(w, `{"data":[{"id":"llama3"},{"id":"echo-1"}]}`)
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		echo := llm.NewEcho()
		u := newUpstream(t, modelList)
		openai := u.provider(t, func(c *llm.OpenAIConfig) { c.Models = []string{"gpt-test"} })
		reg := llm.NewRegistry(echo, openai)

		p, err := reg.For("echo-1")
		require.NoError(t, err)
		require.Same(t, echo, p)
		p, err = reg.For("gpt-test")
		require.NoError(t, err)
		require.Same(t, openai, p)

		ms, err := reg.Models(ctx)
		require.NoError(t, err)
		require.Equal(t, []llm.Model{
			{ID: "echo-1", Provider: "echo", ContextWindow: 8192},
			{ID: "gpt-test", Provider: "openai"},
		}, ms)
		require.Empty(t, u.requests(), "static catalogs need no upstream")
	})

	t.Run("OKDynamicCatalog", func(t *testing.T) {
		t.Parallel()
		echo := llm.NewEcho()
		openai := newUpstream(t, modelList).provider(t)
		reg := llm.NewRegistry(echo, openai)

		_, err := reg.For("llama3")
		require.ErrorIs(t, err, llm.ErrUnknownModel, "not known before the first listing")

		require.NoError(t, reg.Refresh(ctx))
		p, err := reg.For("llama3")
		require.NoError(t, err)
		require.Same(t, openai, p)
		p, err = reg.For("echo-1")
		require.NoError(t, err)
		require.Same(t, echo, p, "the provider passed first wins a shared id")

		ms, err := reg.Models(ctx)
		require.NoError(t, err)
		require.Equal(t, []llm.Model{
			{ID: "echo-1", Provider: "echo", ContextWindow: 8192},
			{ID: "llama3", Provider: "openai"},
		}, ms)
	})

	t.Run("OKOneProviderDown", func(t *testing.T) {
		t.Parallel()
		down := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		reg := llm.NewRegistry(llm.NewEcho(), down.provider(t))
		ms, err := reg.Models(ctx)
		require.NoError(t, err)
		require.Equal(t, []llm.Model{{ID: "echo-1", Provider: "echo", ContextWindow: 8192}}, ms)
	})

	t.Run("ErrAllProvidersDown", func(t *testing.T) {
		t.Parallel()
		down := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		_, err := llm.NewRegistry(down.provider(t)).Models(ctx)
		require.ErrorIs(t, err, llm.ErrUpstream)
		require.Equal(t, fault.Unavailable, fault.CodeOf(err))
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		_, err := llm.NewRegistry(llm.NewEcho()).For("gpt-5")
		require.ErrorIs(t, err, llm.ErrUnknownModel)
		f := fault.As(err)
		require.NotNil(t, f)
		require.Equal(t, fault.Invalid, f.Code)
		require.Equal(t, `unknown model "gpt-5"`, f.Message)
	})
}
