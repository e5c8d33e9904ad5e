package passkey

import (
	"context"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"atrium/ent"
	"atrium/ent/invitation"
	"atrium/ent/membership"
	"atrium/internal/audit"
	"atrium/internal/viewer"
)

// Refused sign-ins and invitations are audited in the chain of the tenant
// they concern, so that its admins see them in GET /audit-events:
//
//   - a sign-in with a known device: every tenant its owner is a member of
//     (any membership status), each in its own chain, with the owner's
//     pseudonym as actor and the device as resource; an owner with no
//     membership left goes to the global chain;
//   - an invitation: the invitation's tenant, with no actor (whoever holds
//     the token has not proven who they are);
//   - an unknown credential or invitation token belongs to no tenant: it is
//     logged and counted (atrium_auth_refusals_total), never audited, so
//     that nobody can fill a chain by making up identifiers.
//
// Rows carry IDs and reason codes only, like every audit event.

func newRefusalCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "atrium", Subsystem: "auth", Name: "refusals_total",
		Help: "Refused sign-ins (ceremony=login) and invitations (ceremony=invitation) by reason code.",
	}, []string{"ceremony", "reason"})
}

// Refusals is the counter of refused ceremonies, for the instance's metrics
// registry.
func (s *Service) Refusals() prometheus.Collector { return s.refusals }

// anonymous returns ctx without a viewer: audit events written with it take
// no actor or session from whoever happens to be signed in.
func anonymous(ctx context.Context) context.Context { return viewer.NewContext(ctx, nil) }

// auditLoginRefusal records a refused sign-in. row is the device presented,
// nil when the credential is unknown.
func (s *Service) auditLoginRefusal(ctx context.Context, row *ent.Credential, reason string) {
	s.refusals.WithLabelValues("login", reason).Inc()
	if row == nil {
		return
	}
	ev := audit.Event{Action: ActionLogin, Outcome: audit.Failure, Actor: row.UserID,
		ResourceType: "device", ResourceID: row.ID, Details: map[string]string{"reason": reason}}
	actx := anonymous(ctx)
	ms, err := s.client.Membership.Query().Where(membership.UserID(row.UserID)).
		All(viewer.System(ctx, viewer.ReasonAudit))
	if err != nil {
		s.log.ErrorContext(ctx, "audit refused sign-in: memberships", "err", err)
	}
	if len(ms) == 0 {
		s.audit.Log(actx, ev) // the global chain
		return
	}
	for _, m := range ms {
		ev.TenantID = m.TenantID
		s.audit.Log(actx, ev)
	}
}

// auditInvitationRefusal records a refused invitation at stage "options"
// (presented) or "finish" (spent by someone else, revoked or expired while
// the ceremony ran). inv is nil for an unknown token.
func (s *Service) auditInvitationRefusal(ctx context.Context, inv *ent.Invitation, stage string) {
	reason := "unknown"
	if inv != nil {
		reason = InvitationStatus(inv, s.now())
		if reason == "pending" {
			reason = "member_inactive" // a re-enrollment for someone no longer active
		}
	}
	s.refusals.WithLabelValues("invitation", reason).Inc()
	if inv == nil {
		s.log.InfoContext(ctx, "invitation refused", "reason", reason, "stage", stage)
		return
	}
	s.audit.Log(anonymous(ctx), audit.Event{Action: ActionInvitationRejected, Outcome: audit.Denied, TenantID: inv.TenantID,
		ResourceType: "invitation", ResourceID: inv.ID, Details: map[string]string{"reason": reason, "stage": stage}})
}

// invitationRefusedAtFinish audits an invitation the enrollment transaction
// could no longer spend.
func (s *Service) invitationRefusedAtFinish(ctx context.Context, id uuid.UUID) {
	inv, err := s.client.Invitation.Query().Where(invitation.ID(id)).Only(viewer.System(ctx, viewer.ReasonAudit))
	if err != nil {
		s.log.ErrorContext(ctx, "audit refused invitation", "err", err)
		return
	}
	s.auditInvitationRefusal(ctx, inv, "finish")
}
