package assistant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/llmusage"
	"atrium/internal/assistant"
	"atrium/internal/fault"
	"atrium/internal/llm"
	"atrium/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// failing is a provider that is down.
type failing struct{ llm.Echo }

var errDown = fault.New(fault.Unavailable, "provider down")

func (failing) Name() string { return "failing" }
func (failing) Models(context.Context) ([]llm.Model, error) {
	return []llm.Model{{ID: "down-1", Provider: "failing"}}, nil
}
func (failing) Complete(context.Context, llm.Request) (*llm.Response, error) { return nil, errDown }
func (failing) Stream(context.Context, llm.Request, func(llm.Chunk) error) (*llm.Response, error) {
	return nil, errDown
}

type env struct {
	*testkit.Resources
	t     *testing.T
	clock *testkit.Clock
	svc   *assistant.Service
}

// mid-month, so that a day either way stays in it.
var start = time.Date(2031, 6, 15, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, quota int) *env {
	t.Helper()
	r := testkit.NewResources(t)
	reg := llm.NewRegistry(llm.NewEcho(), failing{})
	require.NoError(t, reg.Refresh(context.Background()))
	e := &env{Resources: r, t: t, clock: testkit.NewClock(start), svc: assistant.New(r.Client, reg, r.Audit, quota)}
	e.svc.SetClock(e.clock.Now)
	return e
}

func ask(model string) llm.Request {
	return llm.Request{Model: model, Messages: []llm.Message{{Role: llm.RoleUser, Content: "one two three"}}}
}

// used records tokens used in the tenant of ctx at time at.
func (e *env) used(ctx context.Context, tokens int, at time.Time) {
	e.t.Helper()
	require.NoError(e.t, e.Client.LLMUsage.Create().SetModel(llm.EchoModel).SetKind(llmusage.KindCompletion).
		SetPromptTokens(tokens).SetCompletionTokens(0).SetCreatedAt(at).Exec(ctx))
}

func TestAssistant(t *testing.T) {
	t.Parallel()

	t.Run("OKUsageRecordedAndAudited", func(t *testing.T) {
		t.Parallel()
		e := setup(t, 0)
		ctx := e.As()
		res, err := e.svc.Complete(ctx, ask(llm.EchoModel))
		require.NoError(t, err)
		conv := uuid.New()
		var deltas []string
		_, err = e.svc.ReplyStream(ctx, ask(llm.EchoModel), conv, func(d string) { deltas = append(deltas, d) })
		require.NoError(t, err)
		require.NotEmpty(t, deltas, "the reply streamed")
		us, err := e.Client.LLMUsage.Query().Order(llmusage.ByID()).All(e.System())
		require.NoError(t, err)
		require.Len(t, us, 2)
		require.Equal(t, res.Usage.PromptTokens, us[0].PromptTokens)
		require.Equal(t, res.Usage.CompletionTokens, us[0].CompletionTokens)
		require.Equal(t, llmusage.KindCompletion, us[0].Kind)
		require.Nil(t, us[0].ConversationID)
		require.Equal(t, llmusage.KindReply, us[1].Kind)
		require.Equal(t, conv, *us[1].ConversationID)
		for _, u := range us {
			require.Equal(t, []string{assistant.ActionCompletion}, e.Actions(u.ID))
		}
	})

	t.Run("ErrRequestOrProviderStoresNothing", func(t *testing.T) {
		t.Parallel()
		e := setup(t, 0)
		ctx := e.As()
		_, err := e.svc.Complete(ctx, llm.Request{Model: llm.EchoModel})
		testkit.RequireField(t, err, "messages")
		_, err = e.svc.Complete(ctx, ask("no-such-model"))
		require.Error(t, err)
		require.NotEqual(t, fault.Internal, fault.CodeOf(err), "an unknown model is the client's mistake")
		_, err = e.svc.Complete(ctx, ask("down-1"))
		require.True(t, errors.Is(err, errDown))
		n, err := e.Client.LLMUsage.Query().Count(e.System())
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("ErrQuota", func(t *testing.T) {
		t.Parallel()
		e := setup(t, 100)
		ctx := e.As()
		e.used(ctx, 99, start.AddDate(0, 0, -1))
		e.used(ctx, 1000, start.AddDate(0, -1, 0))                    // last month
		e.used(e.AsUser(e.NewTenant(), uuid.New(), nil), 1000, start) // another tenant
		res, err := e.svc.Complete(ctx, ask(llm.EchoModel))
		require.NoError(t, err, "99 of 100 used this month")
		require.Positive(t, res.Usage.PromptTokens+res.Usage.CompletionTokens)
		_, err = e.svc.Complete(ctx, ask(llm.EchoModel))
		testkit.RequireCode(t, err, fault.RateLimited)
		next := time.Date(2031, 7, 1, 0, 0, 0, 0, time.UTC)
		require.Equal(t, next.Sub(start), fault.As(err).RetryAfter, "until the month ends")

		e.clock.Advance(next.Sub(start))
		_, err = e.svc.Complete(ctx, ask(llm.EchoModel))
		require.NoError(t, err, "a new month, a new quota")
	})

	t.Run("OKTenantQuotaOverrides", func(t *testing.T) {
		t.Parallel()
		e := setup(t, 100)
		ctx := e.As()
		e.used(ctx, 150, start)
		_, err := e.svc.Complete(ctx, ask(llm.EchoModel))
		testkit.RequireCode(t, err, fault.RateLimited)
		require.NoError(t, e.Client.Tenant.UpdateOneID(e.Tenant).SetLlmMonthlyTokens(1000).Exec(e.System()))
		_, err = e.svc.Complete(ctx, ask(llm.EchoModel))
		require.NoError(t, err, "the tenant's own quota")
		require.NoError(t, e.Client.Tenant.UpdateOneID(e.Tenant).SetLlmMonthlyTokens(100).Exec(e.System()))
		_, err = e.svc.Complete(ctx, ask(llm.EchoModel))
		testkit.RequireCode(t, err, fault.RateLimited)
		require.NoError(t, e.Client.Tenant.UpdateOneID(e.Tenant).SetLlmMonthlyTokens(0).Exec(e.System()))
		_, err = e.svc.Complete(ctx, ask(llm.EchoModel))
		require.NoError(t, err, "0 is unlimited")
	})
}
