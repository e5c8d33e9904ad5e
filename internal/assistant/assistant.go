// Package assistant calls language models on behalf of members: it checks
// the tenant's token quota, calls the provider chosen by model, and records
// the usage per tenant and user in the same transaction as its audit event.
package assistant

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/llmusage"
	"atrium/internal/audit"
	"atrium/internal/fault"
	"atrium/internal/llm"
	"atrium/internal/tenancy"
	"atrium/internal/viewer"
)

// ActionCompletion is audited for every model call.
const ActionCompletion = "llm.completion"

// Service implements completions.
type Service struct {
	client   *ent.Client
	registry *llm.Registry
	audit    *audit.Writer
	quota    int // tokens per tenant per calendar month (UTC); 0 = unlimited
	now      func() time.Time
}

// New returns a Service.
func New(client *ent.Client, registry *llm.Registry, w *audit.Writer, monthlyQuota int) *Service {
	return &Service{client: client, registry: registry, audit: w, quota: monthlyQuota, now: time.Now}
}

// SetClock replaces the service's clock (default time.Now), which decides
// the calendar month a quota counts; tests move it instead of waiting.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Models lists the models every provider serves.
func (s *Service) Models(ctx context.Context) ([]llm.Model, error) { return s.registry.Models(ctx) }

// checkQuota refuses a call when the tenant has used its monthly tokens:
// the tenant's own quota when it has one, the deployment's otherwise.
func (s *Service) checkQuota(ctx context.Context) error {
	quota := int64(s.quota)
	if v := viewer.FromContext(ctx); v != nil {
		t, err := s.client.Tenant.Get(ctx, v.TenantID)
		if err != nil {
			return fault.FromEnt(err, "tenant")
		}
		quota = tenancy.Quota(t, quota)
	}
	if quota <= 0 {
		return nil
	}
	now := s.now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var sums []struct {
		P int `json:"p"`
		C int `json:"c"`
	}
	err := s.client.LLMUsage.Query().Where(llmusage.CreatedAtGTE(month)).
		Aggregate(ent.As(ent.Sum(llmusage.FieldPromptTokens), "p"), ent.As(ent.Sum(llmusage.FieldCompletionTokens), "c")).
		Scan(ctx, &sums)
	if err != nil {
		return fault.FromEnt(err, "usage")
	}
	if len(sums) > 0 && int64(sums[0].P+sums[0].C) >= quota {
		next := month.AddDate(0, 1, 0)
		return &fault.Error{Code: fault.RateLimited, RetryAfter: next.Sub(now),
			Message: fmt.Sprintf("the tenant used its %d tokens for this month", quota)}
	}
	return nil
}

// Complete runs one completion and records its usage. A provider failure
// records nothing and writes nothing half-done.
func (s *Service) Complete(ctx context.Context, r llm.Request) (*llm.Response, error) {
	return s.call(ctx, r, "completion", nil)
}

// ReplyStream is Reply, streaming: onDelta receives the reply's text as the
// provider produces it.
func (s *Service) ReplyStream(ctx context.Context, r llm.Request, conversationID uuid.UUID, onDelta func(string)) (*llm.Response, error) {
	return s.callWith(ctx, r, "reply", &conversationID, onDelta)
}

func (s *Service) call(ctx context.Context, r llm.Request, kind string, conversationID *uuid.UUID) (*llm.Response, error) {
	return s.callWith(ctx, r, kind, conversationID, nil)
}

func (s *Service) callWith(ctx context.Context, r llm.Request, kind string, conversationID *uuid.UUID, onDelta func(string)) (*llm.Response, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p, err := s.registry.For(r.Model)
	if err != nil {
		return nil, err
	}
	if err := s.checkQuota(ctx); err != nil {
		return nil, err
	}
	var res *llm.Response
	if onDelta != nil {
		res, err = p.Stream(ctx, r, func(c llm.Chunk) error {
			if c.Delta != "" {
				onDelta(c.Delta)
			}
			return nil
		})
	} else {
		res, err = p.Complete(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	err = s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		// At the clock the quota counts by.
		u, err := tx.LLMUsage.Create().SetCreatedAt(s.now()).SetModel(res.Model).SetProvider(p.Name()).SetKind(llmusage.Kind(kind)).
			SetNillableConversationID(conversationID).
			SetPromptTokens(res.Usage.PromptTokens).SetCompletionTokens(res.Usage.CompletionTokens).Save(ctx)
		if err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionCompletion, ResourceType: "llm_usage", ResourceID: u.ID,
			Details: map[string]string{"model": res.Model, "tokens": fmt.Sprint(res.Usage.PromptTokens + res.Usage.CompletionTokens)}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "usage")
	}
	return res, nil
}

// Reply runs the completion of an assistant reply in a conversation and
// records it as such.
func (s *Service) Reply(ctx context.Context, r llm.Request, conversationID uuid.UUID) (*llm.Response, error) {
	return s.call(ctx, r, "reply", &conversationID)
}
