package testkit

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/ent/share"
	"atrium/internal/app"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/viewer"
)

// Resources is what the services of shareable resources (agents, documents,
// knowledge graphs, conversations) are built on, over a fresh SQLite
// database with one tenant. Build the services under test with its Client,
// Audit and Access; callers are request-shaped viewers (As).
type Resources struct {
	tb     testing.TB
	DB     *app.Database
	Client *ent.Client
	Audit  *audit.Writer
	Access *authz.Access
	Tenant uuid.UUID
}

// NewResources returns Resources on a fresh SQLite database.
func NewResources(tb testing.TB) *Resources {
	tb.Helper()
	return NewResourcesOn(tb, SQLite(tb))
}

// NewResourcesOn returns Resources on db (one of Databases), with a new
// tenant.
func NewResourcesOn(tb testing.TB, db *app.Database) *Resources {
	tb.Helper()
	r := &Resources{tb: tb, DB: db, Client: db.Client, Access: authz.NewAccess(db.Client),
		Audit: audit.NewWriter(db.Client, db.Dialect, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	r.Tenant = r.NewTenant()
	return r
}

// NewTenant creates another tenant.
func (r *Resources) NewTenant() uuid.UUID {
	r.tb.Helper()
	tn, err := r.Client.Tenant.Create().SetName("T").SetSlug("t-" + uuid.NewString()).
		Save(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(r.tb, err)
	return tn.ID
}

// As is a request of a new user of the tenant holding grants (the
// permissions the HTTP layer checked; a kind's manage permission widens
// what the services let them see).
func (r *Resources) As(grants ...string) context.Context {
	return r.AsUser(r.Tenant, uuid.New(), nil, grants...)
}

// AsUser is a request of user in tenant tn, a member of teams, holding
// grants.
func (r *Resources) AsUser(tn, user uuid.UUID, teams []uuid.UUID, grants ...string) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{UserID: user, TenantID: tn,
		Perms: authz.NewSet(grants...).WithTeams(teams)})
}

// System is the tenant, as the system.
func (r *Resources) System() context.Context {
	return viewer.SystemForTenant(context.Background(), r.Tenant, viewer.ReasonTest)
}

// Share shares resource id of type rt with a new user of the tenant at
// level l, and returns a request of that user.
func (r *Resources) Share(rt authz.ResourceType, id uuid.UUID, l share.Level) context.Context {
	r.tb.Helper()
	ctx := r.As()
	r.ShareWith(ctx, rt, id, l)
	return ctx
}

// ShareWith shares resource id of type rt with the user of request ctx at
// level l.
func (r *Resources) ShareWith(ctx context.Context, rt authz.ResourceType, id uuid.UUID, l share.Level) {
	r.tb.Helper()
	require.NoError(r.tb, r.Client.Share.Create().SetResourceType(rt).SetResourceID(id).
		SetSubjectType(share.SubjectTypeUser).SetSubjectID(viewer.FromContext(ctx).UserID).SetLevel(l).Exec(r.System()))
}

// Actions returns the actions of the audit events about resource, oldest
// first.
func (r *Resources) Actions(resource uuid.UUID) []string {
	r.tb.Helper()
	return AuditActions(r.tb, r.Client, resource)
}

// AuditActions returns the actions of the audit events about resource, in
// any tenant, oldest first.
func AuditActions(tb testing.TB, c *ent.Client, resource uuid.UUID) []string {
	tb.Helper()
	evs, err := c.AuditEvent.Query().Where(auditevent.ResourceID(resource)).
		Order(ent.Asc(auditevent.FieldSeq)).All(viewer.System(context.Background(), viewer.ReasonTest))
	require.NoError(tb, err)
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.Action)
	}
	return out
}
