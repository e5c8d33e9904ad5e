package httpapi

import (
	"context"

	"atrium/gen/api"
	"atrium/internal/llm"
)

// Assistant is what the handler needs to call language models.
type Assistant interface {
	Models(ctx context.Context) ([]llm.Model, error)
	Complete(ctx context.Context, r llm.Request) (*llm.Response, error)
}

// ListModels implements listModels.
// GET /llm/models
func (h *Handler) ListModels(ctx context.Context) (*api.ListModelsOK, error) {
	ms, err := h.assistant.Models(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.ListModelsOK{Items: make([]api.LLMModel, 0, len(ms))}
	for _, m := range ms {
		it := api.LLMModel{ID: m.ID, Provider: m.Provider}
		if m.ContextWindow > 0 {
			it.ContextWindow = api.NewOptInt(m.ContextWindow)
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// CreateCompletion implements createCompletion.
// POST /llm/completions
func (h *Handler) CreateCompletion(ctx context.Context, req *api.CompletionRequest) (*api.Completion, error) {
	r := llm.Request{Model: req.Model, Temperature: optPtr[float64](req.Temperature), MaxTokens: req.MaxTokens.Or(0)}
	for _, m := range req.Messages {
		r.Messages = append(r.Messages, llm.Message{Role: string(m.Role), Content: m.Content})
	}
	res, err := h.assistant.Complete(ctx, r)
	if err != nil {
		return nil, err
	}
	return &api.Completion{Model: res.Model, Content: res.Content, FinishReason: res.FinishReason,
		Usage: api.CompletionUsage{PromptTokens: res.Usage.PromptTokens, CompletionTokens: res.Usage.CompletionTokens}}, nil
}
