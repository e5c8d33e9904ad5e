package llm

import (
	"context"
	"errors"
	"time"
)

// Observer is told about every completion of a provider: its result (ok,
// error, timeout, canceled), how long it took (a stream: to its end) and the
// tokens the provider reported.
type Observer func(provider, result string, d time.Duration, usage Usage)

// Observe returns p reporting each completion to obs. The registry treats it
// like p (its static catalog included).
func Observe(p Provider, obs Observer) Provider {
	return &observed{Provider: p, obs: obs}
}

type observed struct {
	Provider
	obs Observer
}

func (o *observed) staticModels() []Model {
	if s, ok := o.Provider.(staticCatalog); ok {
		return s.staticModels()
	}
	return nil
}

func (o *observed) done(start time.Time, res *Response, err error) {
	var u Usage
	if res != nil {
		u = res.Usage
	}
	o.obs(o.Name(), Result(err), time.Since(start), u)
}

func (o *observed) Complete(ctx context.Context, r Request) (*Response, error) {
	start := time.Now()
	res, err := o.Provider.Complete(ctx, r)
	o.done(start, res, err)
	return res, err
}

func (o *observed) Stream(ctx context.Context, r Request, fn func(Chunk) error) (*Response, error) {
	start := time.Now()
	res, err := o.Provider.Stream(ctx, r, fn)
	o.done(start, res, err)
	return res, err
}

// Result names the outcome of a call for metrics: ok, timeout, canceled or
// error.
func Result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}
