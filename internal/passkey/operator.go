package passkey

import (
	"context"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/invitation"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// ReasonReplaced is the revoked_reason detail of an operator's admin
// invitation revoked because `atrium tenant invite` issued its replacement.
const ReasonReplaced = "replaced"

// OperatorAdminInvitation issues a new invitation for an admin of tenantID
// from the operator's command line (`atrium tenant invite`): the way to
// replace a lost first-admin link. In the same transaction it revokes every
// pending admin invitation the command line issued before in that tenant
// (the first-admin link of `atrium tenant create`, earlier `tenant invite`
// links: those with no member as author), so a lost link stops working the
// moment its replacement exists. Invitations members created in the API are
// left alone. Each revocation and the new invitation are audited in the
// tenant's chain; revoked lists the invitations revoked.
func (s *Service) OperatorAdminInvitation(ctx context.Context, tenantID uuid.UUID, email *string) (inv *Invited, revoked []uuid.UUID, err error) {
	if email != nil && (len(*email) > 320 || !strings.Contains(*email, "@")) {
		return nil, nil, fault.Fields(fault.FieldError{Field: "email", Message: "not an email address"})
	}
	tctx := viewer.SystemForTenant(ctx, tenantID, viewer.ReasonOperator)
	if _, err := s.client.Tenant.Get(tctx, tenantID); err != nil {
		return nil, nil, fault.FromEnt(err, "tenant")
	}
	raw, hash := newInvitationToken()
	now := s.now()
	var created *ent.Invitation
	err = s.audit.Change(tctx, func(tx *ent.Tx) (audit.Event, error) {
		old, err := tx.Invitation.Query().Where(
			invitation.TenantID(tenantID),
			invitation.PurposeEQ(invitation.PurposeEnroll),
			invitation.RoleID(authz.RoleAdminID),
			invitation.CreatedBy(uuid.Nil),
			invitation.UsedAtIsNil(), invitation.RevokedAtIsNil(), invitation.ExpiresAtGT(now),
		).All(tctx)
		if err != nil {
			return audit.Event{}, err
		}
		for _, o := range old {
			if err := tx.Invitation.UpdateOneID(o.ID).SetRevokedAt(now).ClearEmail().Exec(tctx); err != nil {
				return audit.Event{}, err
			}
			if err := s.audit.Record(tctx, tx, audit.Event{Action: ActionInvitationRevoked, ResourceType: "invitation", ResourceID: o.ID,
				Details: map[string]string{"reason": ReasonReplaced}}); err != nil {
				return audit.Event{}, err
			}
			revoked = append(revoked, o.ID)
		}
		created, err = tx.Invitation.Create().SetTokenHash(hash).SetExpiresAt(now.Add(DefaultInvitationTTL)).
			SetPurpose(invitation.PurposeEnroll).SetRoleID(authz.RoleAdminID).SetNillableEmail(email).Save(tctx)
		if err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionInvitationCreated, ResourceType: "invitation", ResourceID: created.ID,
			Details: map[string]string{"purpose": string(created.Purpose), "by": "operator", "replaces": strconv.Itoa(len(old))}}, nil
	})
	if err != nil {
		return nil, nil, fault.FromEnt(err, "invitation")
	}
	return &Invited{Invitation: created, Token: raw, URL: s.EnrollmentURL(raw)}, revoked, nil
}
