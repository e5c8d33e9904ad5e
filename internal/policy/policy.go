// Package policy holds the ent privacy rules that make every query and
// mutation tenant-aware. ent/schema uses these rules; nothing else should.
//
// Mutation rules are written against entgo.io/ent interfaces (WhereP,
// SetField). Query rules use the generated ent/privacy FilterFunc with entql
// predicates, because generated queries have no untyped WhereP; this makes
// ent/schema depend on generated code, which is why ent/ is committed and the
// schema/snapshot feature is on (see docs/architecture.md).
package policy

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/entql"
	"entgo.io/ent/privacy"
	"github.com/google/uuid"

	entprivacy "atrium/ent/privacy"
	"atrium/internal/viewer"
)

// Field names shared by the mixins and rules.
const (
	FieldTenantID  = "tenant_id"
	FieldCreatedBy = "created_by"
	FieldUpdatedBy = "updated_by"
)

type wherer interface {
	WhereP(...func(*sql.Selector))
}

// TenantOwned is the policy of every table embedding TenantMixin:
// deny without a viewer; the system viewer may do anything (stamping authorship);
// queries, updates and deletes are filtered to the viewer's tenant; a create sets
// tenant_id from the viewer and is denied if the caller set another tenant.
//
// self says which rows a self viewer (viewer.ForUser) reads in any tenant: the
// rows that name the person, for their own data export. Without it a self
// viewer reads nothing of the table. Self viewers never change tenant rows.
func TenantOwned(self SelfP) ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			denyWithoutViewer(),
			viewerFilter(func(v *viewer.Viewer) entql.P {
				if v.IsSelf() {
					return selfPred(self, v)
				}
				return entql.FieldEQ(FieldTenantID, v.TenantID)
			}),
		},
		Mutation: privacy.MutationPolicy{
			denyWithoutViewer(),
			privacy.MutationRuleFunc(tenantMutation),
		},
	}
}

// SelfP is the predicate of the rows of a tenant-owned table that name user
// (see TenantOwned).
type SelfP func(user uuid.UUID) entql.P

// SelfColumns is the SelfP of rows whose column (any of cols) holds the user.
func SelfColumns(cols ...string) SelfP {
	return func(user uuid.UUID) entql.P {
		p := entql.FieldEQ(cols[0], user)
		for _, c := range cols[1:] {
			p = entql.Or(p, entql.FieldEQ(c, user))
		}
		return p
	}
}

func selfPred(self SelfP, v *viewer.Viewer) entql.P {
	if self == nil || v.UserID == uuid.Nil {
		// Nothing: no tenant has the nil id.
		return entql.FieldEQ(FieldTenantID, uuid.Nil)
	}
	return self(v.UserID)
}

func tenantMutation(ctx context.Context, m ent.Mutation) error {
	v := viewer.FromContext(ctx)
	if v.IsSelf() {
		return privacy.Denyf("policy: a self viewer changes no tenant rows")
	}
	switch {
	case m.Op().Is(ent.OpCreate):
		if err := setTenant(m, v); err != nil {
			return err
		}
		setIfUnset(m, FieldCreatedBy, v.UserID)
		setIfUnset(m, FieldUpdatedBy, v.UserID)
	case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
		if _, ok := m.Field(FieldUpdatedBy); !ok {
			_ = m.SetField(FieldUpdatedBy, v.UserID)
		}
		fallthrough
	default:
		if v.IsSystem() {
			return privacy.Allow
		}
		w, ok := m.(wherer)
		if !ok {
			return privacy.Denyf("policy: mutation %T cannot be tenant-filtered", m)
		}
		w.WhereP(sql.FieldEQ(FieldTenantID, v.TenantID))
	}
	if v.IsSystem() {
		return privacy.Allow
	}
	return privacy.Skip
}

// setTenant fills tenant_id from the viewer, or checks a caller-set one.
func setTenant(m ent.Mutation, v *viewer.Viewer) error {
	if val, ok := m.Field(FieldTenantID); ok {
		id, _ := val.(uuid.UUID)
		if v.IsSystem() && id != uuid.Nil {
			return nil
		}
		if id != v.TenantID {
			return privacy.Denyf("policy: create in another tenant")
		}
		return nil
	}
	if v.TenantID == uuid.Nil {
		return privacy.Denyf("policy: create without a tenant")
	}
	return m.SetField(FieldTenantID, v.TenantID)
}

func setIfUnset(m ent.Mutation, field string, id uuid.UUID) {
	if _, ok := m.Field(field); !ok {
		_ = m.SetField(field, id)
	}
}

// TenantOrShared is the policy of tables whose rows are either tenant-owned or
// shared by all tenants (tenant_id NULL), such as roles: everyone reads shared
// rows; only the system viewer writes them.
//
// A self viewer reads the shared rows and those self matches.
func TenantOrShared(self SelfP) ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			denyWithoutViewer(),
			viewerFilter(func(v *viewer.Viewer) entql.P {
				if v.IsSelf() {
					return entql.Or(entql.FieldNil(FieldTenantID), selfPred(self, v))
				}
				return entql.Or(entql.FieldEQ(FieldTenantID, v.TenantID), entql.FieldNil(FieldTenantID))
			}),
		},
		Mutation: privacy.MutationPolicy{
			denyWithoutViewer(),
			privacy.MutationRuleFunc(tenantMutation),
		},
	}
}

// UserOwned is the policy of per-user tables (sessions, credentials): a user
// viewer sees and changes only their own rows; the system viewer everything.
func UserOwned(userField string) ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			denyWithoutViewer(),
			viewerFilter(func(v *viewer.Viewer) entql.P { return entql.FieldEQ(userField, v.UserID) }),
		},
		Mutation: privacy.MutationPolicy{
			denyWithoutViewer(),
			privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
				v := viewer.FromContext(ctx)
				if v.IsSystem() {
					return privacy.Allow
				}
				if m.Op().Is(ent.OpCreate) {
					if val, ok := m.Field(userField); !ok || val != v.UserID {
						return privacy.Denyf("policy: create for another user")
					}
					return privacy.Allow
				}
				w, ok := m.(wherer)
				if !ok {
					return privacy.Denyf("policy: mutation %T cannot be user-filtered", m)
				}
				w.WhereP(sql.FieldEQ(userField, v.UserID))
				return privacy.Allow
			}),
		},
	}
}

// SessionOwned is the policy of rows that belong to a session (refresh
// tokens): the system viewer may do anything; a self viewer (viewer.ForUser)
// reads and changes the rows of its own sessions and creates rows only for
// a session visible to it (visible looks the session up under the same
// viewer, so UserOwned filters it); every other viewer is denied.
func SessionOwned(sessionField string, visible Lookup) ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			denyWithoutViewer(),
			entprivacy.FilterFunc(func(ctx context.Context, f entprivacy.Filter) error {
				v := viewer.FromContext(ctx)
				switch {
				case v.IsSystem():
					return privacy.Allow
				case v.IsSelf():
					f.Where(entql.HasEdgeWith("session", entql.FieldEQ("user_id", v.UserID)))
					return privacy.Allow
				}
				return privacy.Denyf("policy: session rows are their user's")
			}),
		},
		Mutation: privacy.MutationPolicy{
			denyWithoutViewer(),
			privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
				v := viewer.FromContext(ctx)
				switch {
				case v.IsSystem():
					return privacy.Allow
				case !v.IsSelf():
					return privacy.Denyf("policy: session rows are their user's")
				case m.Op().Is(ent.OpCreate):
					val, _ := m.Field(sessionField)
					id, _ := val.(uuid.UUID)
					ok, err := visible(ctx, m, id)
					if err != nil {
						return err
					}
					if !ok {
						return privacy.Denyf("policy: create for another user's session")
					}
					return privacy.Allow
				}
				w, ok := m.(wherer)
				if !ok {
					return privacy.Denyf("policy: mutation %T cannot be user-filtered", m)
				}
				w.WhereP(func(s *sql.Selector) {
					t := sql.Table("sessions")
					s.Where(sql.In(s.C(sessionField), sql.Select(t.C("id")).From(t).Where(sql.EQ(t.C("user_id"), v.UserID))))
				})
				return privacy.Allow
			}),
		},
	}
}

// SystemOnly is the policy of tables only internal code touches (signing keys,
// revision bookkeeping): any non-system viewer is denied.
func SystemOnly() ent.Policy {
	rule := privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx).IsSystem() {
			return privacy.Allow
		}
		return privacy.Denyf("policy: system only")
	})
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule},
		Mutation: privacy.MutationPolicy{rule},
	}
}

// Users is the policy of the users table: a self viewer (viewer.ForUser)
// reads and changes only its own row and creates none; other viewers are
// guarded by the services, as in AnyViewer.
func Users() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			denyWithoutViewer(),
			entprivacy.FilterFunc(func(ctx context.Context, f entprivacy.Filter) error {
				if v := viewer.FromContext(ctx); v.IsSelf() {
					f.Where(entql.FieldEQ("id", v.UserID))
				}
				return privacy.Allow
			}),
		},
		Mutation: privacy.MutationPolicy{
			denyWithoutViewer(),
			privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
				v := viewer.FromContext(ctx)
				if !v.IsSelf() {
					return privacy.Allow
				}
				if !m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
					return privacy.Denyf("policy: a self viewer only updates its own user")
				}
				w, ok := m.(wherer)
				if !ok {
					return privacy.Denyf("policy: mutation %T cannot be user-filtered", m)
				}
				w.WhereP(sql.FieldEQ("id", v.UserID))
				return privacy.Allow
			}),
		},
	}
}

// AnyViewer is the policy of global tables that services guard themselves
// (tenants, users): a viewer is required, nothing more.
func AnyViewer() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{denyWithoutViewer(), privacy.AlwaysAllowRule()},
		Mutation: privacy.MutationPolicy{denyWithoutViewer(), privacy.AlwaysAllowRule()},
	}
}

func denyWithoutViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx) == nil {
			return privacy.Denyf("policy: no viewer in context")
		}
		return privacy.Skip
	})
}

// Lookup reports whether the row id of a referenced table is visible under
// ctx (which carries the acting viewer, so tenant filtering applies).
type Lookup func(ctx context.Context, m ent.Mutation, id uuid.UUID) (bool, error)

// RefInTenant denies a mutation that sets field to the id of a row the viewer
// cannot see. A tenant-owned row may then never reference another tenant's
// row, even if a service forgets to look the parent up first. The lookup is
// skipped only for the one id viewer.WithCheckedRef vouches for, in the viewer's
// tenant.
func RefInTenant(field string, visible Lookup) ent.Policy {
	return privacy.Policy{Mutation: privacy.MutationPolicy{
		privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
			if viewer.FromContext(ctx).IsSystem() {
				return privacy.Skip
			}
			val, ok := m.Field(field)
			if !ok {
				return privacy.Skip
			}
			id, _ := val.(uuid.UUID)
			if viewer.CheckedRef(ctx, field, id) {
				return privacy.Skip
			}
			found, err := visible(ctx, m, id)
			if err != nil {
				return err
			}
			if !found {
				return privacy.Denyf("policy: %s references a row outside the tenant", field)
			}
			return privacy.Skip
		}),
	}}
}

// TenantReadSystemWrite is the policy of append-only records written by
// internal code (the audit trail): a user viewer reads only their tenant's
// rows (never rows without a tenant); only the system viewer writes.
//
// A self viewer reads none: the audit trail names people by pseudonym, which
// only the audit code (viewer.ReasonAudit) resolves.
func TenantReadSystemWrite() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			denyWithoutViewer(),
			viewerFilter(func(v *viewer.Viewer) entql.P {
				if v.IsSelf() {
					return selfPred(nil, v)
				}
				return entql.FieldEQ(FieldTenantID, v.TenantID)
			}),
		},
		Mutation: SystemOnly().(privacy.Policy).Mutation,
	}
}

// viewerFilter is a query rule: the system viewer sees every row; any other
// viewer's queries get the predicate built from the viewer.
func viewerFilter(pred func(v *viewer.Viewer) entql.P) privacy.QueryRule {
	return entprivacy.FilterFunc(func(ctx context.Context, f entprivacy.Filter) error {
		v := viewer.FromContext(ctx)
		if v.IsSystem() {
			return privacy.Allow
		}
		f.Where(pred(v))
		return privacy.Skip
	})
}
