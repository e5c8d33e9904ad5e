// Package compliance implements data-subject rights (GDPR export and
// erasure) and the deployment checks of `atrium audit gdpr` and
// `atrium audit security`.
package compliance

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/session"
)

// GDPR exports and erases a person's data.
type GDPR struct {
	client   *ent.Client
	sessions *session.Store
	resolver *authz.Resolver
	audit    *audit.Writer
	log      *slog.Logger
}

// NewGDPR returns the GDPR service.
func NewGDPR(client *ent.Client, s *session.Store, r *authz.Resolver, w *audit.Writer, log *slog.Logger) *GDPR {
	return &GDPR{client: client, sessions: s, resolver: r, audit: w, log: log}
}

// errPending marks what the GDPR work in progress has not delivered yet.
var errPending = fault.New(fault.Unavailable, "data export and erasure are being built")

// Export returns the viewer's data bundle as JSON.
func (g *GDPR) Export(ctx context.Context) ([]byte, error) { return nil, errPending }

// EraseMe erases the viewer.
func (g *GDPR) EraseMe(ctx context.Context) error { return errPending }

// EraseMember erases a member of the viewer's tenant.
func (g *GDPR) EraseMember(ctx context.Context, userID uuid.UUID) error { return errPending }
