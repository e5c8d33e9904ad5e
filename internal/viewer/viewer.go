// Package viewer carries who is asking through a context.Context.
//
// The data layer (ent privacy rules in internal/policy) reads the viewer to
// filter and stamp tenant-owned rows; handlers never pass tenant IDs by hand.
package viewer

import (
	"context"

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

	system bool
	reason string
}

// IsSystem reports whether the viewer is the internal system identity.
func (v *Viewer) IsSystem() bool { return v != nil && v.system }

// Reason is why a system viewer was created; empty for user viewers.
func (v *Viewer) Reason() string {
	if v == nil {
		return ""
	}
	return v.reason
}

// Allows reports whether the viewer holds permission. The system viewer holds
// every permission.
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

// System returns ctx acting as the internal system identity, which bypasses
// tenant filtering. It is the only bypass: grep for viewer.System to find every
// place that uses it. reason says why (logged, audited by callers).
//
// If ctx already carries a viewer with a tenant, the system viewer keeps that
// tenant and user as defaults for rows it creates.
func System(ctx context.Context, reason string) context.Context {
	sv := &Viewer{system: true, reason: reason}
	if v := FromContext(ctx); v != nil {
		sv.UserID, sv.TenantID, sv.SessionID = v.UserID, v.TenantID, v.SessionID
	}
	return NewContext(ctx, sv)
}

// SystemForTenant is System with a default tenant for rows it creates.
func SystemForTenant(ctx context.Context, tenantID uuid.UUID, reason string) context.Context {
	ctx = System(ctx, reason)
	FromContext(ctx).TenantID = tenantID
	return ctx
}
