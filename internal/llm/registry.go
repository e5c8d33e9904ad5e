package llm

import (
	"context"
	"errors"
	"sync"
)

// Registry picks the provider that serves a model id.
//
// Providers whose catalog is fixed (Echo; OpenAI with an allow list) are
// indexed at construction. Providers that list their models upstream (OpenAI
// without an allow list) are indexed by Models or Refresh, so call Refresh at
// start and Models whenever the list is shown. When two providers serve the
// same id, the one passed first wins.
type Registry struct {
	providers []Provider

	mu       sync.RWMutex
	catalogs [][]Model // per provider, the last list it gave
	index    map[string]Provider
}

// staticCatalog is implemented by providers that know their models without
// asking anyone; it returns nil when the catalog is not static.
type staticCatalog interface {
	staticModels() []Model
}

// NewRegistry returns a registry over providers, in order of precedence.
func NewRegistry(providers ...Provider) *Registry {
	r := &Registry{providers: providers, catalogs: make([][]Model, len(providers))}
	for i, p := range providers {
		if s, ok := p.(staticCatalog); ok {
			r.catalogs[i] = s.staticModels()
		}
	}
	r.reindex()
	return r
}

// For returns the provider serving model, or a fault.Invalid error wrapping
// ErrUnknownModel.
func (r *Registry) For(model string) (Provider, error) {
	r.mu.RLock()
	p, ok := r.index[model]
	r.mu.RUnlock()
	if !ok {
		return nil, unknownModel(model)
	}
	return p, nil
}

// Models asks every provider for its models concurrently, refreshes the
// index and returns the models in provider order, without duplicate ids. A
// provider that fails keeps its previous entries in the index and adds none
// to the list; the error is returned only when every provider failed, so one
// unreachable server does not hide the others.
func (r *Registry) Models(ctx context.Context) ([]Model, error) {
	lists := make([][]Model, len(r.providers))
	errs := make([]error, len(r.providers))
	var wg sync.WaitGroup
	for i, p := range r.providers {
		wg.Go(func() { lists[i], errs[i] = p.Models(ctx) })
	}
	wg.Wait()

	r.mu.Lock()
	failed := 0
	for i := range r.providers {
		if errs[i] != nil {
			failed++
			continue
		}
		r.catalogs[i] = lists[i]
	}
	r.reindex()
	r.mu.Unlock()

	if len(r.providers) > 0 && failed == len(r.providers) {
		return nil, errors.Join(errs...)
	}
	seen := make(map[string]bool)
	var out []Model
	for i, l := range lists {
		if errs[i] != nil {
			continue
		}
		for _, m := range l {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// Refresh re-reads every provider's catalog; see Models.
func (r *Registry) Refresh(ctx context.Context) error {
	_, err := r.Models(ctx)
	return err
}

// reindex rebuilds the index from the catalogs; r.mu must be held (or r not
// yet shared).
func (r *Registry) reindex() {
	idx := make(map[string]Provider)
	for i, l := range r.catalogs {
		for _, m := range l {
			if _, dup := idx[m.ID]; !dup {
				idx[m.ID] = r.providers[i]
			}
		}
	}
	r.index = idx
}
