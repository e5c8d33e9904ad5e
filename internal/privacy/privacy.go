// Package privacy implements data-subject rights on the request path: GDPR
// export and erasure. The deployment checks of `atrium audit gdpr` probe it
// from internal/compliance.
package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"atrium/ent"
	"atrium/ent/actorref"
	"atrium/ent/credential"
	"atrium/ent/invitation"
	"atrium/ent/memberrole"
	"atrium/ent/membership"
	"atrium/ent/predicate"
	"atrium/ent/refreshtoken"
	"atrium/ent/role"
	entsession "atrium/ent/session"
	"atrium/ent/share"
	"atrium/ent/teammember"
	"atrium/ent/tenant"
	"atrium/ent/user"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/fault"
	"atrium/internal/session"
	"atrium/internal/viewer"
)

// ActionErased is the audit action of an erasure. Its resource is the user
// (by id: the tombstone row keeps it), so the chain records that the person
// was erased without saying who they were.
const ActionErased = "gdpr.erased"

// GDPR exports and erases a person's data.
type GDPR struct {
	client   *ent.Client
	sessions *session.Store
	resolver *authz.Resolver
	audit    *audit.Writer
	log      *slog.Logger

	mu      sync.Mutex
	dialect string // learnt on first use
}

// NewGDPR returns the GDPR service.
func NewGDPR(client *ent.Client, s *session.Store, r *authz.Resolver, w *audit.Writer, log *slog.Logger) *GDPR {
	return &GDPR{client: client, sessions: s, resolver: r, audit: w, log: log}
}

// dia returns the database dialect, learnt on first success.
func (g *GDPR) dia(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dialect == "" {
		d, err := dialectOf(ctx, g.client)
		if err != nil {
			return "", err
		}
		g.dialect = d
	}
	return g.dialect, nil
}

var errNoViewer = fault.New(fault.Unauthenticated, "sign in first")

// Export returns the viewer's data bundle as JSON: everything Atrium holds
// about them in every tenant they belong to (see Bundle).
func (g *GDPR) Export(ctx context.Context) ([]byte, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == uuid.Nil {
		return nil, errNoViewer
	}
	dia, err := g.dia(ctx)
	if err != nil {
		return nil, fault.FromEnt(err, "export")
	}
	// Cross-tenant reads as the person themselves (viewer.ForUser), never
	// the system bypass: the ent rules and, on PostgreSQL, row-level security
	// let them read the rows that name them and nothing else. One read-only
	// transaction, so the bundle is one snapshot.
	tx, err := g.client.Tx(viewer.ForUser(ctx, v.UserID))
	if err != nil {
		return nil, fault.FromEnt(err, "export")
	}
	defer func() { _ = tx.Rollback() }()
	b, err := export(ctx, tx.Client(), dia, v.UserID, time.Now())
	if err != nil {
		return nil, fault.FromEnt(err, "user")
	}
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "internal error")
	}
	return out, nil
}

// EraseMe erases the viewer: see erase. Each tenant they belonged to records
// the erasure in its audit chain.
func (g *GDPR) EraseMe(ctx context.Context) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == uuid.Nil {
		return errNoViewer
	}
	return g.run(ctx, func(tx *ent.Tx, dia string) error {
		_, err := g.erase(ctx, tx, dia, v.UserID, "self", nil)
		return err
	}, v.UserID)
}

// EraseMember erases a member of the viewer's tenant. A person who also
// belongs to another tenant is not this tenant's to erase (Conflict: remove
// them from the tenant instead); a user who is not a member is not found.
func (g *GDPR) EraseMember(ctx context.Context, userID uuid.UUID) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == uuid.Nil {
		return errNoViewer
	}
	return g.run(ctx, func(tx *ent.Tx, dia string) error {
		// Tenant-filtered: another tenant's member is not found.
		if _, err := tx.Membership.Query().Where(membership.UserID(userID)).Only(ctx); err != nil {
			return fault.FromEnt(err, "member")
		}
		other, err := tx.Membership.Query().
			Where(membership.UserID(userID), membership.TenantIDNEQ(v.TenantID)).
			Exist(viewer.System(ctx, viewer.ReasonErasure))
		if err != nil {
			return err
		}
		if other {
			return fault.New(fault.Conflict, "the member belongs to other tenants too: remove them from this tenant instead")
		}
		_, err = g.erase(ctx, tx, dia, userID, "admin", []uuid.UUID{v.TenantID})
		return err
	}, userID)
}

// run runs fn in a transaction and, once it commits, makes the audit writer
// forget the erased user's pseudonym.
func (g *GDPR) run(ctx context.Context, fn func(tx *ent.Tx, dia string) error, userID uuid.UUID) error {
	dia, err := g.dia(ctx)
	if err != nil {
		return fault.FromEnt(err, "user")
	}
	tx, err := g.client.Tx(ctx)
	if err != nil {
		return fault.FromEnt(err, "user")
	}
	if err := fn(tx, dia); err != nil {
		_ = tx.Rollback()
		return fault.FromEnt(err, "user")
	}
	if err := tx.Commit(); err != nil {
		return fault.FromEnt(err, "user")
	}
	g.audit.Forget(userID)
	g.log.InfoContext(ctx, "user erased", "user_id", userID)
	return nil
}

// erase removes a person's personal data inside tx, which ctx's viewer
// (the person or an admin) commits:
//
//   - every session is revoked (caches forget them on commit) and deleted,
//     with its refresh tokens; every device (credential) is deleted;
//   - memberships, member roles, team memberships and shares to the person
//     are deleted; a tenant must keep someone who can manage members;
//   - resources they created are deleted or handed to the tenant (authorship
//     uuid.Nil), per each tenant's erasure_policy; every other authorship
//     column naming them is handed to the tenant too;
//   - invitations they created or that named them lose their email;
//     re-enrollment invitations for them are deleted;
//   - the erasure is audited (in eventTenants' chains, or every tenant they
//     belonged to), then the actor link (ActorRef) is deleted: audit history
//     keeps verifying and no longer leads to the person;
//   - the user row becomes a tombstone: status erased, no name, email,
//     external id or last tenant.
//
// It returns the tenants the person belonged to.
func (g *GDPR) erase(ctx context.Context, tx *ent.Tx, dia string, userID uuid.UUID, by string, eventTenants []uuid.UUID) ([]uuid.UUID, error) {
	sys := viewer.System(ctx, viewer.ReasonErasure)
	u, err := tx.User.Get(sys, userID)
	if err != nil {
		return nil, err
	}
	if u.Status == user.StatusErased {
		return nil, fault.New(fault.NotFound, "user not found")
	}
	ms, err := tx.Membership.Query().Where(membership.UserID(userID)).All(sys)
	if err != nil {
		return nil, err
	}
	tenants := make([]uuid.UUID, len(ms))
	for i, m := range ms {
		tenants[i] = m.TenantID
		if err := keepsManager(sys, tx, m.TenantID, userID); err != nil {
			return nil, err
		}
		g.resolver.InvalidateOnCommit(ctx, tx, m.TenantID, userID)
	}
	if eventTenants == nil {
		eventTenants = tenants
	}

	// Sign-ins and devices.
	if _, err := g.sessions.RevokeWhere(ctx, tx, "erased", entsession.UserID(userID)); err != nil {
		return nil, err
	}
	if _, err := tx.RefreshToken.Delete().Where(refreshtoken.HasSessionWith(entsession.UserID(userID))).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete refresh tokens: %w", err)
	}
	if _, err := tx.Session.Delete().Where(entsession.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete sessions: %w", err)
	}
	if _, err := tx.Credential.Delete().Where(credential.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete devices: %w", err)
	}

	// Belonging.
	if _, err := tx.MemberRole.Delete().Where(memberrole.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete member roles: %w", err)
	}
	if _, err := tx.TeamMember.Delete().Where(teammember.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete team memberships: %w", err)
	}
	if _, err := tx.Share.Delete().Where(share.SubjectTypeEQ(share.SubjectTypeUser), share.SubjectID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete shares: %w", err)
	}
	// Shares to them and, below, what they made (deleted or handed to the
	// tenant) change resource owners and shares in any tenant: drop every
	// instance's cached resource facts (an erasure is rare).
	g.resolver.InvalidateResourceOnCommit(ctx, tx, uuid.Nil, "", uuid.Nil)
	if _, err := tx.Membership.Delete().Where(membership.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete memberships: %w", err)
	}

	// What they made.
	rts, err := resourceTenants(sys, tx, dia, userID)
	if err != nil {
		return nil, err
	}
	for _, t := range rts {
		tn, err := tx.Tenant.Get(sys, t)
		if err != nil {
			return nil, err
		}
		if tn.ErasurePolicy == tenant.ErasurePolicyDelete {
			if err := deleteResources(sys, tx, dia, t, userID); err != nil {
				return nil, err
			}
		}
	}
	inv := []predicate.Invitation{invitation.CreatedBy(userID), invitation.UsedBy(userID)}
	if u.Email != nil {
		inv = append(inv, invitation.Email(*u.Email))
	}
	if err := tx.Invitation.Update().Where(invitation.Or(inv...)).ClearEmail().Exec(sys); err != nil {
		return nil, fmt.Errorf("clear invitation emails: %w", err)
	}
	if err := tx.Invitation.Update().Where(invitation.UsedBy(userID)).ClearUsedBy().Exec(sys); err != nil {
		return nil, fmt.Errorf("clear invitation use: %w", err)
	}
	if _, err := tx.Invitation.Delete().Where(invitation.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete re-enrollments: %w", err)
	}
	if err := clearAuthorship(sys, tx, dia, userID); err != nil {
		return nil, err
	}

	// The record of it, then the end of the link from the record to them.
	if len(eventTenants) == 0 {
		eventTenants = []uuid.UUID{uuid.Nil} // the viewer's tenant, or the global chain
	}
	// In one order, by tenant id, so that every erasure takes these chains'
	// locks in the same order: two at once cannot deadlock on them.
	for _, t := range slices.SortedFunc(slices.Values(eventTenants), func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }) {
		ev := audit.Event{Action: ActionErased, ResourceType: "user", ResourceID: userID, TenantID: t,
			Details: map[string]string{"by": by}}
		if err := g.audit.Record(ctx, tx, ev); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ActorRef.Delete().Where(actorref.UserID(userID)).Exec(sys); err != nil {
		return nil, fmt.Errorf("delete actor link: %w", err)
	}
	err = tx.User.UpdateOneID(userID).
		SetStatus(user.StatusErased).SetDisplayName("").
		ClearEmail().ClearExternalID().ClearLastTenantID().Exec(sys)
	if err != nil {
		return nil, fmt.Errorf("tombstone user: %w", err)
	}
	return tenants, nil
}

// keepsManager fails when erasing userID would leave tenantID with active
// members but none who can manage members. A tenant with nobody else left
// is no obstacle: erasure is the person's right.
func keepsManager(ctx context.Context, tx *ent.Tx, tenantID, userID uuid.UUID) error {
	others, err := tx.Membership.Query().Where(membership.TenantID(tenantID), membership.UserIDNEQ(userID),
		membership.StatusEQ(membership.StatusActive)).All(ctx)
	if err != nil || len(others) == 0 {
		return err
	}
	roles, err := tx.Role.Query().Where(role.Or(role.TenantIDIsNil(), role.TenantID(tenantID))).All(ctx)
	if err != nil {
		return err
	}
	var managing []uuid.UUID
	for _, r := range roles {
		if authz.NewSet(r.Permissions...).Allows(authz.MemberManage) {
			managing = append(managing, r.ID)
		}
	}
	var active []uuid.UUID
	for _, m := range others {
		active = append(active, m.UserID)
	}
	ok, err := tx.MemberRole.Query().Where(memberrole.TenantID(tenantID), memberrole.RoleIDIn(managing...),
		memberrole.UserIDIn(active...)).Exist(ctx)
	if err != nil || ok {
		return err
	}
	return fault.New(fault.Conflict, "the tenant would be left without an active member who can manage members: give someone that role first")
}

// EraseInTx erases userID inside tx as the self-service erasure does, without
// committing: `atrium audit gdpr` probes erasure in a transaction it rolls
// back.
func (g *GDPR) EraseInTx(ctx context.Context, tx *ent.Tx, dia string, userID uuid.UUID) error {
	_, err := g.erase(ctx, tx, dia, userID, "self", nil)
	return err
}
