package passkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/credential"
	"atrium/ent/invitation"
	"atrium/ent/membership"
	"atrium/ent/user"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/page"
	"atrium/internal/viewer"
)

// Invitation lifetimes.
const (
	DefaultInvitationTTL   = 7 * 24 * time.Hour
	DefaultReenrollmentTTL = 24 * time.Hour
	MinInvitationTTL       = 5 * time.Minute
	MaxInvitationTTL       = 30 * 24 * time.Hour
)

const invitationPrefix = "inv_"

func newInvitationToken() (raw string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	raw = invitationPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return raw, hashInvitation(raw)
}

func hashInvitation(raw string) []byte {
	h := sha256.Sum256([]byte("atrium invitation\x00" + raw))
	return h[:]
}

// EnrollmentURL is the web console link for an invitation token. The token
// travels in the fragment, which browsers never send to a server, so it
// stays out of access logs and proxies.
func (s *Service) EnrollmentURL(token string) string {
	return s.cfg.PublicURL + "/#/enroll?invitation=" + token
}

// pendingInvitation finds the unused, unrevoked, unexpired invitation with
// this token. stage names the step for the audit of a refusal.
func (s *Service) pendingInvitation(ctx context.Context, raw, stage string) (*ent.Invitation, error) {
	if !strings.HasPrefix(raw, invitationPrefix) || len(raw) > 100 {
		s.auditInvitationRefusal(ctx, nil, stage)
		return nil, errInvitation
	}
	inv, err := s.client.Invitation.Query().Where(invitation.TokenHash(hashInvitation(raw))).
		Only(viewer.System(ctx, viewer.ReasonInvitation))
	switch {
	case ent.IsNotFound(err):
		s.auditInvitationRefusal(ctx, nil, stage)
		return nil, errInvitation
	case err != nil:
		return nil, fault.FromEnt(err, "invitation")
	case InvitationStatus(inv, s.now()) != "pending":
		// Used, revoked or expired: its tenant's admins see the attempt.
		s.auditInvitationRefusal(ctx, inv, stage)
		return nil, errInvitation
	}
	return inv, nil
}

// spendInvitation marks the ceremony's invitation used (atomically: a second
// use fails), creates or checks the member it enrolls, and returns it.
//
// Everything runs in tx, on its one connection (never the client: a second
// connection waited for while tx holds one can stall the pool): the
// invitation is read first, with the email its spending clears, then spent
// by an update whose conditions a concurrent use, revocation or expiry
// makes match nothing.
func (s *Service) spendInvitation(ctx context.Context, tx *ent.Tx, c *ceremony) (*ent.Invitation, error) {
	now := s.now()
	inv, err := tx.Invitation.Get(ctx, c.InvitationID)
	if ent.IsNotFound(err) {
		return nil, errInvitation
	}
	if err != nil {
		return nil, err
	}
	email := inv.Email
	n, err := tx.Invitation.Update().
		Where(invitation.ID(c.InvitationID), invitation.UsedAtIsNil(), invitation.RevokedAtIsNil(), invitation.ExpiresAtGT(now)).
		SetUsedAt(now).SetUsedBy(c.UserID).ClearEmail().
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errInvitation
	}
	usedBy := c.UserID
	inv.UsedAt, inv.UsedBy, inv.Email = &now, &usedBy, nil
	if inv.Purpose == invitation.PurposeReenroll {
		ok, err := tx.Membership.Query().Where(membership.UserID(c.UserID), membership.StatusEQ(membership.StatusActive)).Exist(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errInvitation
		}
		// A device enrolled since the invitation was issued means the member
		// is not locked out: only their own invitation still works.
		if inv.CreatedBy != c.UserID {
			has, err := tx.Credential.Query().Where(credential.UserID(c.UserID)).Exist(ctx)
			if err != nil {
				return nil, err
			}
			if has {
				return nil, errInvitation
			}
		}
		return inv, tx.User.UpdateOneID(c.UserID).SetStatus(user.StatusActive).Exec(ctx)
	}
	// A new member. The email the inviter gave moves from the invitation
	// (cleared above) to the user.
	name := c.DisplayName
	if name == "" {
		name = "New member"
	}
	if err := tx.User.Create().SetID(c.UserID).SetDisplayName(name).SetNillableEmail(email).SetLastTenantID(inv.TenantID).Exec(ctx); err != nil {
		return nil, err
	}
	if err := tx.Membership.Create().SetTenantID(inv.TenantID).SetUserID(c.UserID).
		SetCreatedBy(inv.CreatedBy).SetUpdatedBy(inv.CreatedBy).Exec(ctx); err != nil {
		return nil, err
	}
	roleID := authz.RoleMemberID
	if inv.RoleID != nil {
		roleID = *inv.RoleID
	}
	return inv, tx.MemberRole.Create().SetTenantID(inv.TenantID).SetUserID(c.UserID).SetRoleID(roleID).
		SetCreatedBy(inv.CreatedBy).SetUpdatedBy(inv.CreatedBy).Exec(ctx)
}

// InviteInput creates an invitation for a new member.
type InviteInput struct {
	RoleID    *uuid.UUID
	Email     *string
	ExpiresIn time.Duration // 0 = DefaultInvitationTTL
}

// Invited is a created invitation and its one-time token.
type Invited struct {
	Invitation *ent.Invitation
	Token      string
	URL        string
}

func checkTTL(d, def time.Duration) (time.Duration, error) {
	if d == 0 {
		return def, nil
	}
	if d < MinInvitationTTL || d > MaxInvitationTTL {
		return 0, fault.Fields(fault.FieldError{Field: "expires_in_minutes", Message: "between 5 minutes and 30 days"})
	}
	return d, nil
}

// Invite creates an invitation in the viewer's tenant.
func (s *Service) Invite(ctx context.Context, in InviteInput) (*Invited, error) {
	ttl, err := checkTTL(in.ExpiresIn, DefaultInvitationTTL)
	if err != nil {
		return nil, err
	}
	if in.Email != nil && (len(*in.Email) > 320 || !strings.Contains(*in.Email, "@")) {
		return nil, fault.Fields(fault.FieldError{Field: "email", Message: "not an email address"})
	}
	// Visible roles only: the tenant's own or the system roles. The role the
	// new member gets (member when none is named) carries nothing the
	// inviter lacks.
	roleID := authz.RoleMemberID
	if in.RoleID != nil {
		roleID = *in.RoleID
	}
	grants, found, err := authz.Grants(ctx, s.client.Role, roleID)
	if err != nil {
		return nil, fault.FromEnt(err, "role")
	}
	if !found {
		return nil, fault.New(fault.NotFound, "role not found")
	}
	if err := authz.RequireGrantable(ctx, "inviting with this role", grants); err != nil {
		return nil, err
	}
	return s.create(ctx, func(b *ent.InvitationCreate) {
		b.SetPurpose(invitation.PurposeEnroll).SetNillableRoleID(in.RoleID).SetNillableEmail(in.Email)
	}, ttl)
}

// Reenroll creates an invitation letting an existing member of the viewer's
// tenant enroll a new device after losing all of theirs. It is recovery, not
// a way into someone else's account, so it is refused:
//   - while the member still has a device (unless they ask for themselves);
//   - when the member holds a permission in this tenant the caller lacks;
//   - when the member belongs to another tenant in which the caller does not
//     manage members, or holds more than the caller there too.
//
// The operator's command line (the system viewer) passes the permission
// rules, not the device rule. Using the invitation ends every session of the
// member and marks the new device with who issued it (see spendInvitation).
func (s *Service) Reenroll(ctx context.Context, userID uuid.UUID, expiresIn time.Duration) (*Invited, error) {
	ttl, err := checkTTL(expiresIn, DefaultReenrollmentTTL)
	if err != nil {
		return nil, err
	}
	m, err := s.client.Membership.Query().Where(membership.UserID(userID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "member not found")
	}
	if err != nil {
		return nil, fault.FromEnt(err, "member")
	}
	if err := s.mayReenroll(ctx, m.TenantID, userID); err != nil {
		return nil, err
	}
	return s.create(ctx, func(b *ent.InvitationCreate) {
		b.SetPurpose(invitation.PurposeReenroll).SetUserID(userID)
	}, ttl)
}

var errHasDevice = fault.New(fault.Conflict, "the member still has a registered device: re-enrollment is for a member who lost every device (they can add a device themselves, or remove the lost ones first)")

// mayReenroll applies Reenroll's rules for the viewer of ctx, in tenant, to
// user.
func (s *Service) mayReenroll(ctx context.Context, tenant, user uuid.UUID) error {
	v := viewer.FromContext(ctx)
	if v != nil && !v.IsSystem() && v.UserID == user {
		return nil
	}
	sys := viewer.System(ctx, viewer.ReasonMemberships)
	has, err := s.client.Credential.Query().Where(credential.UserID(user)).Exist(sys)
	if err != nil {
		return fault.FromEnt(err, "device")
	}
	if has {
		return errHasDevice
	}
	if v.IsSystem() {
		return nil
	}
	if v == nil {
		return fault.New(fault.Forbidden, "re-enrollment needs a signed-in member")
	}
	held, err := authz.MemberGrants(sys, s.client.Role, tenant, user)
	if err != nil {
		return fault.FromEnt(err, "role")
	}
	if err := authz.RequireGrantable(ctx, "re-enrolling this member", held); err != nil {
		return err
	}
	others, err := s.client.Membership.Query().Where(membership.UserID(user), membership.TenantIDNEQ(tenant)).All(sys)
	if err != nil {
		return fault.FromEnt(err, "member")
	}
	for _, o := range others {
		// In each other tenant the caller must be an active member who
		// manages members and holds everything the member holds there.
		active, err := s.client.Membership.Query().Where(membership.UserID(v.UserID), membership.TenantID(o.TenantID),
			membership.StatusEQ(membership.StatusActive)).Exist(sys)
		if err != nil {
			return fault.FromEnt(err, "member")
		}
		var mine []string
		if active {
			if mine, err = authz.MemberGrants(sys, s.client.Role, o.TenantID, v.UserID); err != nil {
				return fault.FromEnt(err, "role")
			}
			mine = append(mine, authz.Implicit...)
		}
		theirs, err := authz.MemberGrants(sys, s.client.Role, o.TenantID, user)
		if err != nil {
			return fault.FromEnt(err, "role")
		}
		caller := authz.NewSet(mine...)
		if !caller.Allows(authz.MemberManage) || len(authz.CanGrant(caller, theirs)) > 0 {
			return fault.New(fault.Forbidden, "the member also belongs to a tenant where you do not manage them: re-enrollment must come from someone who manages every tenant they belong to")
		}
	}
	return nil
}

func (s *Service) create(ctx context.Context, set func(*ent.InvitationCreate), ttl time.Duration) (*Invited, error) {
	if v := viewer.FromContext(ctx); v != nil && !v.IsSystem() {
		if err := s.limiter.Check(ctx, "user", v.UserID.String()); err != nil {
			return nil, err
		}
	}
	raw, hash := newInvitationToken()
	var inv *ent.Invitation
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		b := tx.Invitation.Create().SetTokenHash(hash).SetExpiresAt(s.now().Add(ttl))
		set(b)
		var err error
		if inv, err = b.Save(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionInvitationCreated, ResourceType: "invitation", ResourceID: inv.ID,
			Details: map[string]string{"purpose": string(inv.Purpose)}}, nil
	})
	if err != nil {
		return nil, fault.FromEnt(err, "invitation")
	}
	return &Invited{Invitation: inv, Token: raw, URL: s.EnrollmentURL(raw)}, nil
}

// Invitations lists the tenant's invitations, newest first.
func (s *Service) Invitations(ctx context.Context, cursor string, limit int) (page.Page[*ent.Invitation], error) {
	p, err := page.List(cursor, limit, func(after uuid.UUID, n int) ([]*ent.Invitation, error) {
		q := s.client.Invitation.Query().Order(ent.Desc(invitation.FieldID)).Limit(n)
		if after != uuid.Nil {
			q.Where(invitation.IDLT(after))
		}
		return q.All(ctx)
	}, func(i *ent.Invitation) uuid.UUID { return i.ID })
	return p, fault.FromEnt(err, "invitation")
}

// RevokeInvitation revokes an unused invitation of the viewer's tenant.
func (s *Service) RevokeInvitation(ctx context.Context, id uuid.UUID) error {
	err := s.audit.Change(ctx, func(tx *ent.Tx) (audit.Event, error) {
		inv, err := tx.Invitation.Get(ctx, id)
		if err != nil {
			return audit.Event{}, err
		}
		if inv.UsedAt != nil {
			return audit.Event{}, fault.New(fault.Conflict, "the invitation was already used")
		}
		if err := tx.Invitation.UpdateOneID(id).SetRevokedAt(s.now()).ClearEmail().Exec(ctx); err != nil {
			return audit.Event{}, err
		}
		return audit.Event{Action: ActionInvitationRevoked, ResourceType: "invitation", ResourceID: id}, nil
	})
	return fault.FromEnt(err, "invitation")
}

// InvitationStatus is pending, used, expired or revoked.
func InvitationStatus(inv *ent.Invitation, now time.Time) string {
	switch {
	case inv.UsedAt != nil:
		return "used"
	case inv.RevokedAt != nil:
		return "revoked"
	case !now.Before(inv.ExpiresAt):
		return "expired"
	}
	return "pending"
}

// BootstrapTenant creates a tenant and an invitation for its first admin: the
// `atrium tenant create` command.
func (s *Service) BootstrapTenant(ctx context.Context, name, slug string, adminEmail *string) (*ent.Tenant, *Invited, error) {
	if name == "" || slug == "" {
		return nil, nil, fault.New(fault.Invalid, "a tenant needs a name and a slug")
	}
	sys := viewer.System(ctx, viewer.ReasonInvitation)
	t, err := s.client.Tenant.Create().SetName(name).SetSlug(slug).Save(sys)
	if err != nil {
		return nil, nil, fault.FromEnt(err, "tenant")
	}
	tctx := viewer.SystemForTenant(ctx, t.ID, viewer.ReasonInvitation)
	admin := authz.RoleAdminID
	inv, err := s.create(tctx, func(b *ent.InvitationCreate) {
		b.SetPurpose(invitation.PurposeEnroll).SetRoleID(admin).SetNillableEmail(adminEmail)
	}, DefaultInvitationTTL)
	if err != nil {
		return nil, nil, fmt.Errorf("first admin invitation: %w", err)
	}
	return t, inv, nil
}
