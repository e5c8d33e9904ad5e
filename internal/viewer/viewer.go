// Package viewer carries who is asking through a context.Context.
//
// The data layer (ent privacy rules in internal/policy, and on PostgreSQL the
// row-level security policies set by internal/rls) reads the viewer to filter
// and stamp tenant-owned rows; handlers never pass tenant IDs by hand.
//
// There are three kinds of viewer: a tenant member (UserID and TenantID, with
// permissions), a user acting on their own rows only (ForUser: sessions,
// their user row, their own data export), and the system identity (System),
// which bypasses tenant filtering and always says why, with a Reason.
package viewer

import (
	"context"
	"sync/atomic"

	"github.com/google/uuid"
)

// Permissions answers whether a permission (e.g. "conversation.create") is held.
// It is implemented by internal/authz; the viewer package only consumes it.
type Permissions interface {
	Allows(permission string) bool
}

// Viewer is the identity a request or job acts as.
type Viewer struct {
	UserID    uuid.UUID
	TenantID  uuid.UUID
	SessionID uuid.UUID
	Perms     Permissions
	// ServiceAccount is set when UserID is a service account of TenantID
	// (a token from its JWT assertion), not a person: it has no session,
	// devices or memberships.
	ServiceAccount bool

	system bool
	self   bool
	reason Reason
}

// IsSystem reports whether the viewer is the internal system identity.
func (v *Viewer) IsSystem() bool { return v != nil && v.system }

// IsSelf reports whether the viewer is a user acting on their own rows only
// (see ForUser): no tenant, no permissions, no bypass.
func (v *Viewer) IsSelf() bool { return v != nil && v.self }

// IsServiceAccount reports whether the viewer is a tenant's service account.
func (v *Viewer) IsServiceAccount() bool { return v != nil && v.ServiceAccount }

// Reason is why a system viewer was created; ReasonNone for other viewers.
func (v *Viewer) Reason() Reason {
	if v == nil {
		return ReasonNone
	}
	return v.reason
}

// Allows reports whether the viewer holds permission. The system viewer holds
// every permission; a self viewer none.
func (v *Viewer) Allows(permission string) bool {
	if v == nil {
		return false
	}
	if v.system {
		return true
	}
	return v.Perms != nil && v.Perms.Allows(permission)
}

type ctxKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the viewer in ctx, or nil.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(ctxKey{}).(*Viewer)
	return v
}

// ForUser returns ctx acting as user userID on their own rows only: the
// user-owned tables (sessions, credentials, their users row) filtered to
// userID, nothing of any tenant, no permission. It is how the paths that know
// the person but not (or not only) a tenant avoid the system bypass. The
// session of the viewer in ctx, if any, is kept.
func ForUser(ctx context.Context, userID uuid.UUID) context.Context {
	uv := &Viewer{UserID: userID, self: true}
	if v := FromContext(ctx); v != nil && v.UserID == userID {
		uv.SessionID = v.SessionID
	}
	return NewContext(ctx, uv)
}

// System returns ctx acting as the internal system identity, which bypasses
// tenant filtering in the ent policies and, on PostgreSQL, row-level security
// (internal/rls sets app.system). It is the only bypass: grep for
// viewer.System to find every place that uses it. reason says why: it is
// counted (Counts, the atrium_system_viewer_total metric) and the audit writer
// records it with any event written under it.
//
// If ctx already carries a viewer with a tenant, the system viewer keeps that
// tenant and user as defaults for rows it creates.
func System(ctx context.Context, reason Reason) context.Context {
	if reason <= ReasonNone || reason >= numReasons {
		reason = ReasonUnlisted
	}
	counts[reason].Add(1)
	sv := &Viewer{system: true, reason: reason}
	if v := FromContext(ctx); v != nil {
		sv.UserID, sv.TenantID, sv.SessionID = v.UserID, v.TenantID, v.SessionID
	}
	return NewContext(ctx, sv)
}

// SystemForTenant is System with a default tenant for rows it creates.
func SystemForTenant(ctx context.Context, tenantID uuid.UUID, reason Reason) context.Context {
	ctx = System(ctx, reason)
	FromContext(ctx).TenantID = tenantID
	return ctx
}

// Reason is why code takes the system bypass. It is a small fixed set, so a
// metric labelled by it has bounded cardinality; add a constant (and its name
// in reasonNames) for a new kind of bypass rather than reusing a loose one.
type Reason uint8

// The reasons for the system bypass.
const (
	ReasonNone Reason = iota
	// ReasonSignIn: authentication before a person or tenant is known
	// (credential look-up, picking the tenant, enrolling a device).
	ReasonSignIn
	// ReasonInvitation: an invitation is looked up by its token before the
	// invitee is a member, or a tenant is bootstrapped from one.
	ReasonInvitation
	// ReasonSessionRevoke: sessions are revoked by a predicate that can span
	// users (sign-out everywhere, member removal, erasure).
	ReasonSessionRevoke
	// ReasonToken: refresh tokens and signing keys, which belong to no tenant
	// and are found by their hash before the caller is known, and service
	// accounts' keys and assertions, found before the caller is known.
	ReasonToken
	// ReasonPermissions: the effective permissions of a member are resolved
	// before the viewer that carries them exists.
	ReasonPermissions
	// ReasonDirectory: names of other people (users are global rows).
	ReasonDirectory
	// ReasonMemberships: a person's memberships across tenants (tenant list,
	// account closure, erasure checks).
	ReasonMemberships
	// ReasonAudit: the audit writer, verifier and pruner (chains span tenants
	// and include tenant-less events).
	ReasonAudit
	// ReasonErasure: GDPR erasure of a person across tenants.
	ReasonErasure
	// ReasonCompliance: 'atrium audit' probes and checks.
	ReasonCompliance
	// ReasonOperator: operator commands of the atrium CLI.
	ReasonOperator
	// ReasonTest: fixtures of tests.
	ReasonTest
	// ReasonUnlisted: a value outside this list (a bug; counted so it shows).
	ReasonUnlisted
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:          "none",
	ReasonSignIn:        "sign_in",
	ReasonInvitation:    "invitation",
	ReasonSessionRevoke: "session_revoke",
	ReasonToken:         "token",
	ReasonPermissions:   "permissions",
	ReasonDirectory:     "directory",
	ReasonMemberships:   "memberships",
	ReasonAudit:         "audit",
	ReasonErasure:       "erasure",
	ReasonCompliance:    "compliance",
	ReasonOperator:      "operator",
	ReasonTest:          "test",
	ReasonUnlisted:      "unlisted",
}

// String is the reason's metric label and audit detail.
func (r Reason) String() string {
	if r >= numReasons {
		return reasonNames[ReasonUnlisted]
	}
	return reasonNames[r]
}

// Reasons lists every reason a system viewer can carry.
func Reasons() []Reason {
	out := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// counts is process-wide: System is a plain function with no instance to
// hold a registry; internal/metrics exposes it from every instance's registry.
var counts [numReasons]atomic.Uint64

// Count returns how many system viewers were created with reason in this
// process.
func Count(r Reason) uint64 {
	if r >= numReasons {
		return 0
	}
	return counts[r].Load()
}

type checkedRefKey struct{}

type checkedRef struct {
	tenant uuid.UUID
	field  string
	id     uuid.UUID
}

// WithCheckedRef returns ctx vouching that the caller has just found the row
// id, which a mutation's field references, in the tenant of ctx's viewer
// (an access check: authz.Access.Require). The reference rule of the data
// layer (policy.RefInTenant) then does not look the row up again. It vouches
// for that field, that id and that tenant only: any other reference, or the
// same context under another viewer's tenant, is looked up as before, and a
// system or self viewer gets nothing vouched. A row's tenant never changes,
// so the check stays true of the tenant; a row deleted since is caught by
// the foreign key at the insert, which the caller answers as "not found".
//
// Only authz.Access.RequireRef calls it, right after its access check
// (architecture_test.go keeps it so).
func WithCheckedRef(ctx context.Context, field string, id uuid.UUID) context.Context {
	v := FromContext(ctx)
	if v == nil || v.system || v.self || v.TenantID == uuid.Nil || id == uuid.Nil {
		return ctx
	}
	return context.WithValue(ctx, checkedRefKey{}, checkedRef{tenant: v.TenantID, field: field, id: id})
}

// CheckedRef reports whether ctx vouches (WithCheckedRef) for id in field,
// in the tenant of ctx's viewer.
func CheckedRef(ctx context.Context, field string, id uuid.UUID) bool {
	// A vouch never holds a nil tenant or id, and a self viewer has no
	// tenant: equality rules both out.
	c, ok := ctx.Value(checkedRefKey{}).(checkedRef)
	v := FromContext(ctx)
	return ok && v != nil && !v.system && c == checkedRef{tenant: v.TenantID, field: field, id: id}
}
