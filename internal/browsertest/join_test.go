package browsertest_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/ent/membership"
	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/viewer"
)

// TestConsoleJoin: a person signed in to one workspace opens an invitation
// to another. The console accepts it for their account (no second identity,
// no new passkey) and switches to the workspace joined; both are listed.
func TestConsoleJoin(t *testing.T) {
	t.Parallel()
	chrome := chromiumPath(t)
	site := startAtrium(t)
	ctx := context.Background()

	first := site.env.Member(site.tenant, authz.RoleAdminID)
	inv, err := first.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(authz.RoleMemberID)})
	require.NoError(t, err)
	b := newBrowser(t, chrome)
	tb := enrollAs(t, b, inv.EnrollmentURL, "Ada Lovelace")
	before := tb.session(t)

	other := site.env.Tenant()
	require.NoError(t, site.env.App.DB.Client.Tenant.UpdateOneID(other.ID).SetName("Difference Engines").Exec(site.env.System()))
	otherAdmin := site.env.Member(other.ID, authz.RoleAdminID)
	inv2, err := otherAdmin.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(authz.RoleViewerID)})
	require.NoError(t, err)

	tb.do(t, "open the other workspace's invitation while signed in", chromedp.Navigate(inv2.EnrollmentURL))
	tb.visible(t, "view-enroll")
	tb.visible(t, "enroll-join")
	require.True(t, tb.isHidden(t, "enroll-form"), "a signed-in person is not offered a second identity")
	tb.do(t, "join", chromedp.Click(tid("enroll-join-button")))
	tb.visible(t, "view-console")
	tb.poll(t, "the session moved to the workspace joined", `JSON.parse(sessionStorage.getItem("atrium.session")).tenant_id === "`+other.ID.String()+`"`)
	tb.poll(t, "both workspaces are offered", `document.querySelectorAll('[data-testid="tenant-select"] option').length === 2`)
	after := tb.session(t)
	require.Equal(t, before.UserID, after.UserID, "one identity")
	require.Equal(t, "", tb.eval(t, `sessionStorage.getItem("atrium.invitation") || ""`), "the invitation is gone from the tab")

	// The account is a viewer member of the other workspace, and nobody else was created.
	m, err := site.env.App.DB.Client.Membership.Query().
		Where(membership.TenantID(other.ID), membership.UserIDEQ(uuid.MustParse(after.UserID))).
		Only(viewer.SystemForTenant(ctx, other.ID, viewer.ReasonTest))
	require.NoError(t, err)
	require.Equal(t, membership.StatusActive, m.Status)

	b.requireClean(t)

	// The link works once: opened again, the console says so.
	tb.do(t, "open the spent invitation again", chromedp.Navigate(inv2.EnrollmentURL))
	tb.visible(t, "enroll-join")
	tb.do(t, "join again", chromedp.Click(tid("enroll-join-button")))
	tb.visible(t, "error")
}
