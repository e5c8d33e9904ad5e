package passkey

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/invitation"
	"atrium/ent/membership"
	"atrium/ent/tenant"
	"atrium/ent/user"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/viewer"
)

// ActionMemberJoined is audited in the joined tenant's chain when a signed-in
// person accepts an invitation to it (beside ActionInvitationUsed).
const ActionMemberJoined = "member.joined"

// Accepted is the membership an accepted invitation created.
type Accepted struct {
	Tenant *ent.Tenant
	RoleID uuid.UUID
}

var (
	errAcceptUnknown = fault.New(fault.NotFound, "the invitation is invalid, used, revoked or expired")
	errAcceptReenrol = fault.New(fault.Invalid, "this is a re-enrollment invitation: enroll a device with it instead")
	errAcceptEmail   = fault.New(fault.Forbidden, "the invitation is addressed to another email address than yours")
	errAcceptMember  = fault.New(fault.Conflict, "you are already a member of the invitation's tenant")
	errAcceptTenant  = fault.New(fault.Conflict, "the invitation's tenant is not active")
	errAcceptUser    = fault.New(fault.Forbidden, "your account is not active")
)

// Accept makes the signed-in viewer a member of the tenant of the enrollment
// invitation raw, with the invitation's role, and spends the invitation. The
// person keeps their identity, devices and current session: the new tenant
// is one token exchange away.
//
// Refused: a token that is unknown, used, revoked or expired (404); a
// re-enrollment invitation (400); an invitation addressed to an email other
// than the viewer's, compared case-insensitively, or to any email when the
// viewer has none (403); a viewer whose account is not active (403); a
// viewer already a member of the tenant, active or suspended (409: an
// invitation never lifts a suspension); a tenant that is not active (409).
// An invitation without an email is a bearer capability, as it is for
// enrolling a new person. Refusals of a known invitation are audited in its
// tenant's chain with the viewer as actor (ActionInvitationRejected, stage
// "accept").
func (s *Service) Accept(ctx context.Context, raw string) (*Accepted, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.IsSystem() || v.UserID == uuid.Nil {
		return nil, fault.New(fault.Unauthenticated, "accepting an invitation needs a signed-in person")
	}
	if err := s.limiter.Check(ctx, "invitation", raw); err != nil {
		return nil, err
	}
	inv, err := s.pendingInvitation(ctx, raw, "accept")
	if errors.Is(err, errInvitation) {
		return nil, errAcceptUnknown
	}
	if err != nil {
		return nil, err
	}
	refuse := func(reason string, err error) error {
		s.refusals.WithLabelValues("invitation", reason).Inc()
		s.audit.Log(ctx, audit.Event{Action: ActionInvitationRejected, Outcome: audit.Denied, TenantID: inv.TenantID,
			ResourceType: "invitation", ResourceID: inv.ID, Details: map[string]string{"reason": reason, "stage": "accept"}})
		return err
	}
	if inv.Purpose != invitation.PurposeEnroll {
		return nil, refuse("reenroll_invitation", errAcceptReenrol)
	}
	sys := viewer.System(ctx, viewer.ReasonInvitation)
	u, err := s.client.User.Get(sys, v.UserID)
	if err != nil {
		return nil, fault.FromEnt(err, "user")
	}
	if u.Status != user.StatusActive {
		return nil, refuse("user_"+string(u.Status), errAcceptUser)
	}
	if inv.Email != nil && (u.Email == nil || !sameEmail(*inv.Email, *u.Email)) {
		return nil, refuse("email_mismatch", errAcceptEmail)
	}
	t, err := s.client.Tenant.Get(sys, inv.TenantID)
	if err != nil {
		return nil, fault.FromEnt(err, "tenant")
	}
	if t.Status != tenant.StatusActive {
		return nil, refuse("tenant_"+string(t.Status), errAcceptTenant)
	}
	member, err := s.client.Membership.Query().Where(membership.TenantID(inv.TenantID), membership.UserID(v.UserID)).Exist(sys)
	if err != nil {
		return nil, fault.FromEnt(err, "member")
	}
	if member {
		return nil, refuse("already_member", errAcceptMember)
	}
	roleID := authz.RoleMemberID
	if inv.RoleID != nil {
		roleID = *inv.RoleID
	}
	// The events go to the joined tenant's chain, with the person as actor
	// and the session they acted from.
	actx := viewer.NewContext(ctx, &viewer.Viewer{UserID: v.UserID, TenantID: inv.TenantID, SessionID: v.SessionID})
	tsys := viewer.SystemForTenant(actx, inv.TenantID, viewer.ReasonInvitation)
	now := s.now()
	err = s.audit.Change(actx, func(tx *ent.Tx) (audit.Event, error) {
		n, err := tx.Invitation.Update().
			Where(invitation.ID(inv.ID), invitation.PurposeEQ(invitation.PurposeEnroll), invitation.UsedAtIsNil(),
				invitation.RevokedAtIsNil(), invitation.ExpiresAtGT(now)).
			SetUsedAt(now).SetUsedBy(v.UserID).ClearEmail().
			Save(tsys)
		if err != nil {
			return audit.Event{}, err
		}
		if n == 0 { // spent, revoked or expired since it was read
			return audit.Event{}, errAcceptUnknown
		}
		if err := tx.Membership.Create().SetTenantID(inv.TenantID).SetUserID(v.UserID).
			SetCreatedBy(inv.CreatedBy).SetUpdatedBy(inv.CreatedBy).Exec(tsys); err != nil {
			return audit.Event{}, err
		}
		if err := tx.MemberRole.Create().SetTenantID(inv.TenantID).SetUserID(v.UserID).SetRoleID(roleID).
			SetCreatedBy(inv.CreatedBy).SetUpdatedBy(inv.CreatedBy).Exec(tsys); err != nil {
			return audit.Event{}, err
		}
		s.accounts.InvalidatePermissionsOnCommit(actx, tx, inv.TenantID, v.UserID)
		if err := s.audit.Record(actx, tx, audit.Event{Action: ActionInvitationUsed, ResourceType: "invitation", ResourceID: inv.ID}); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionMemberJoined, ResourceType: "member", ResourceID: v.UserID,
			Details: map[string]string{"invitation_id": inv.ID.String(), "role_id": roleID.String()}}, nil
	})
	switch {
	case errors.Is(err, errAcceptUnknown):
		s.invitationRefusedAtFinish(ctx, inv.ID)
		return nil, errAcceptUnknown
	case ent.IsConstraintError(err):
		// A concurrent accept of another invitation to the same tenant won.
		return nil, fault.Wrap(err, fault.Conflict, errAcceptMember.Message)
	case err != nil:
		return nil, fault.FromEnt(err, "invitation")
	}
	return &Accepted{Tenant: t, RoleID: roleID}, nil
}

// sameEmail compares addresses as people type them: surrounding spaces and
// letter case do not matter.
func sameEmail(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}
