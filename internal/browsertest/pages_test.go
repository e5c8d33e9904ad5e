package browsertest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"atrium/ent"
	"atrium/ent/auditevent"
	"atrium/gen/api"
	"atrium/internal/authz"
	"atrium/internal/serviceaccount"
)

// viewport is a window size the pages are walked at.
type viewport struct {
	name          string
	width, height int64
	scale         float64
}

var viewports = []viewport{
	{"phone", 390, 844, 2},
	{"desktop", 1280, 900, 1},
}

// persona is a signed-in person and the pages the console must (and must
// not) show them.
type persona struct {
	name  string
	tab   *tab
	pages []string // nav entries besides Account, in order
}

// TestConsolePages walks every page as an admin, a member and a viewer, on a
// phone and a desktop: each sees exactly the pages their permissions allow,
// the admin's actions work through the pages, and an API call the page does
// not offer is refused when forced. Screenshots of every page go to
// $ATRIUM_ARTIFACTS_DIR/browsertest (CI keeps .ci/artifacts), else a temp dir.
func TestConsolePages(t *testing.T) {
	t.Parallel()
	chrome := chromiumPath(t)
	site := startAtrium(t)
	ctx := context.Background()
	shots := artifactsDir(t)

	// The first admin's invitation comes from the API; the others are made in
	// the console by the admin.
	first := site.env.Member(site.tenant, authz.RoleAdminID)
	inv, err := first.Client.CreateInvitation(ctx, &api.InvitationCreate{RoleID: api.NewOptUUID(authz.RoleAdminID)})
	require.NoError(t, err)

	b := newBrowser(t, chrome)
	admin := &persona{name: "admin", pages: []string{"conversations", "agents", "graphs", "documents", "members", "invitations", "roles", "teams", "service-accounts", "settings", "audit"}}
	admin.tab = enrollAs(t, b, inv.EnrollmentURL, "Grace Hopper")
	admin.tab.waitNav(t, admin.pages...)

	inviteInConsole := func(t *testing.T, role string) string {
		t.Helper()
		tb := admin.tab
		tb.openPage(t, "invitations")
		tb.do(t, "choose the role "+role, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const s = document.querySelector('[data-testid="invite-role"]'); s.value = [...s.options].find(o => o.textContent === %q).value; })()`, role)))
		tb.do(t, "create the invitation", chromedp.Click(tid("invite-submit")))
		tb.visible(t, "invite-link")
		link := tb.eval(t, `document.querySelector('[data-testid="invite-link"]').value`)
		require.True(t, strings.HasPrefix(link, site.base+"/#/enroll?invitation="), link)
		tb.poll(t, "the invitation is listed as pending",
			`[...document.querySelectorAll('[data-testid="invitation-item"]')].some(li => li.dataset.status === "pending")`)
		return link
	}

	member := &persona{name: "member", pages: []string{"conversations", "agents", "graphs", "documents", "members", "roles", "teams"}}
	viewer := &persona{name: "viewer", pages: []string{"conversations", "agents", "graphs", "documents", "members", "roles", "teams"}}
	// Not a subtest: the tabs live as long as the whole test.
	member.tab = enrollAs(t, b, inviteInConsole(t, "member"), "Mary Member")
	member.tab.waitNav(t, member.pages...)
	viewer.tab = enrollAs(t, b, inviteInConsole(t, "viewer"), "Victor Viewer")
	viewer.tab.waitNav(t, viewer.pages...)

	// The objects the admin edits; member and viewer then try to edit them.
	var roleID, teamID, agentID string

	stepRun(t, "AdminRevokesInvitation", func(t *testing.T) {
		inviteInConsole(t, "viewer")
		tb := admin.tab
		tb.do(t, "revoke it", chromedp.Click(css(`[data-testid="invitation-item"][data-status="pending"] [data-testid="invitation-revoke"]`)))
		tb.poll(t, "no pending invitation is left",
			`document.querySelectorAll('[data-testid="invitation-item"]').length > 0 && ![...document.querySelectorAll('[data-testid="invitation-item"]')].some(li => li.dataset.status === "pending")`)
	})

	stepRun(t, "AdminManagesMembers", func(t *testing.T) {
		tb := admin.tab
		tb.openPage(t, "members")
		tb.waitCount(t, "member-item", 4) // the API's first admin, Grace, Mary, Victor
		row := `[...document.querySelectorAll('[data-testid="member-item"]')].find(li => li.querySelector('[data-testid="member-name"]').textContent === "Victor Viewer")`
		tb.do(t, "suspend the viewer", chromedp.Evaluate[chromedp.Void](row+`.querySelector('[data-testid="member-suspend"]').click()`))
		tb.poll(t, "the viewer is suspended", row+`?.dataset.status === "suspended"`)
		tb.do(t, "reactivate the viewer", chromedp.Evaluate[chromedp.Void](row+`.querySelector('[data-testid="member-reactivate"]').click()`))
		tb.poll(t, "the viewer is active", row+`?.dataset.status === "active"`)
		require.True(t, tb.isHidden(t, "error"))
	})

	stepRun(t, "AdminManagesServiceAccounts", func(t *testing.T) {
		tb := admin.tab
		tb.openPage(t, "service-accounts")
		tb.do(t, "create a service account",
			chromedp.SendKeys(tid("service-account-new-name"), "nightly-report"),
			chromedp.Click(tid("service-account-submit")),
		)
		tb.waitCount(t, "service-account-item", 1)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		require.NoError(t, err)
		pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		tb.do(t, "add its public key",
			chromedp.SetValue(tid("service-account-key-pem"), pemText),
			chromedp.Click(css(`[data-testid="service-account-key-form"] button[type="submit"]`)),
		)
		tb.poll(t, "the key is active", `document.querySelector('[data-testid="service-account-key"]')?.dataset.status === "active"`)
		thumb, err := serviceaccount.Thumbprint(&key.PublicKey)
		require.NoError(t, err)
		require.Equal(t, thumb, tb.eval(t, `document.querySelector('[data-testid="service-account-key-thumbprint"]').textContent`),
			"the console shows the key's RFC 7638 thumbprint")
		tb.do(t, "disable the account", chromedp.Click(tid("service-account-toggle")))
		tb.poll(t, "the account is disabled", `document.querySelector('[data-testid="service-account-item"]')?.dataset.disabled === "true"`)
		require.True(t, tb.isHidden(t, "error"))
	})

	stepRun(t, "AdminCreatesRoleAndTeam", func(t *testing.T) {
		tb := admin.tab
		tb.openPage(t, "roles")
		tb.do(t, "fill a custom role",
			chromedp.SendKeys(tid("role-new-name"), "auditor"),
			chromedp.Click(tid("perm-audit.read")),
			chromedp.Click(tid("perm-document.*")),
			chromedp.Click(tid("role-submit")),
		)
		tb.poll(t, "the role is listed", `[...document.querySelectorAll('[data-testid="role-name"]')].some(e => e.textContent === "auditor")`)
		perms := tb.eval(t, `[...document.querySelectorAll('[data-testid="role-item"]')].find(li => li.querySelector('[data-testid="role-name"]').textContent === "auditor").querySelector('[data-testid="role-permissions"]').textContent`)
		require.ElementsMatch(t, []string{"audit.read", "document.*"}, strings.Split(perms, ", "))

		tb.openPage(t, "teams")
		tb.do(t, "create a team",
			chromedp.SendKeys(tid("team-new-name"), "Compilers"),
			chromedp.Click(tid("team-submit")),
		)
		tb.waitTexts(t, "team-name", "Compilers")
		tb.do(t, "add a member", chromedp.Click(tid("team-add-member")))
		tb.poll(t, "the team has a member", `document.querySelector('[data-testid="team-members"]').textContent !== "No members yet"`)
	})

	stepRun(t, "AdminEditsRoleAndTeam", func(t *testing.T) {
		tb := admin.tab
		tb.openPage(t, "roles")
		role := rowByText("role-item", "role-name", "auditor")
		roleID = tb.eval(t, role+`.dataset.roleId`)
		tb.do(t, "open the role's edit form", chromedp.Evaluate[chromedp.Void](role+`.querySelector('[data-testid="role-edit"]').click()`))
		tb.visible(t, "role-edit-form")
		require.Equal(t, "true", tb.eval(t, `document.querySelector('[data-testid="edit-perm-audit.read"]').checked && document.querySelector('[data-testid="edit-perm-document.*"]').checked`),
			"the picker starts from the role's permissions")
		tb.do(t, "rename it, describe it, grant member.read, drop document.*",
			chromedp.SetValue(tid("role-edit-name"), "trail auditor"),
			chromedp.SetValue(tid("role-edit-description"), "Reads the audit trail"),
			chromedp.Click(tid("edit-perm-member.read")),
			chromedp.Click(tid("edit-perm-document.*")),
			chromedp.Click(tid("role-edit-save")),
		)
		tb.poll(t, "the role is saved", `document.querySelector('[data-testid="status"]').textContent === "Role trail auditor saved."`)
		tb.reload(t)
		tb.openPage(t, "roles")
		role = rowByText("role-item", "role-name", "trail auditor")
		tb.poll(t, "the edited role is listed after a reload", role+` !== undefined`)
		require.Equal(t, "Reads the audit trail", tb.eval(t, role+`.querySelector('[data-testid="role-description"]').textContent`))
		perms := tb.eval(t, role+`.querySelector('[data-testid="role-permissions"]').textContent`)
		require.ElementsMatch(t, []string{"audit.read", "member.read"}, strings.Split(perms, ", "))

		tb.openPage(t, "teams")
		team := rowByText("team-item", "team-name", "Compilers")
		teamID = tb.eval(t, team+`.dataset.teamId`)
		tb.do(t, "open the team's edit form", chromedp.Evaluate[chromedp.Void](team+`.querySelector('[data-testid="team-edit"]').click()`))
		tb.visible(t, "team-edit-form")
		tb.do(t, "rename and describe it",
			chromedp.SetValue(tid("team-edit-name"), "Compiler team"),
			chromedp.SetValue(tid("team-edit-description"), "A-0 and FLOW-MATIC"),
			chromedp.Click(tid("team-edit-save")),
		)
		tb.poll(t, "the team is saved", `document.querySelector('[data-testid="status"]').textContent === "Team Compiler team saved."`)
		tb.reload(t)
		tb.openPage(t, "teams")
		team = rowByText("team-item", "team-name", "Compiler team")
		tb.poll(t, "the edited team is listed after a reload", team+` !== undefined`)
		require.Equal(t, "A-0 and FLOW-MATIC", tb.eval(t, team+`.querySelector('[data-testid="team-description"]').textContent`))
		require.NotEqual(t, "No members yet", tb.eval(t, team+`.querySelector('[data-testid="team-members"]').textContent`), "its members are kept")
		tb.shot(t, shots, "admin-team-edited")
		require.True(t, tb.isHidden(t, "error"))
	})

	stepRun(t, "AdminSettingsAndAudit", func(t *testing.T) {
		tb := admin.tab
		tb.openPage(t, "settings")
		tb.do(t, "rename the workspace",
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="settings-name"]').value = ""`),
			chromedp.SendKeys(tid("settings-name"), "Harvard Mark I"),
			chromedp.Click(tid("settings-submit")),
		)
		tb.poll(t, "the settings are saved", `document.querySelector('[data-testid="status"]').textContent === "Settings saved."`)

		tb.openPage(t, "audit")
		tb.poll(t, "the trail lists events", `document.querySelectorAll('[data-testid="audit-item"]').length > 0`)
		require.Equal(t, "continuous", tb.eval(t, `document.querySelector('[data-testid="audit-chain"]').dataset.state`))
		tb.poll(t, "the chain is verified on opening", `document.querySelector('[data-testid="audit-verify-status"]').dataset.state === "verified"`)
		tb.do(t, "verify again", chromedp.Click(tid("audit-verify")))
		tb.poll(t, "the chain verifies up to the newest event", `(() => {
			const v = document.querySelector('[data-testid="audit-verify-status"]').dataset;
			return v.state === "verified" && Number(v.events) > 0 && v.head === document.querySelector('[data-testid="audit-item"]').querySelector('.meta').textContent.split("#").pop();
		})()`)
		require.Contains(t, tb.text(t, "audit-verify-status"), "✓ Verified: ")
		tb.do(t, "filter by action",
			chromedp.SendKeys(tid("audit-action"), "tenant.updated"),
			chromedp.Click(tid("audit-apply")),
		)
		tb.poll(t, "only that action", `(() => { const a = [...document.querySelectorAll('[data-testid="audit-item"]')]; return a.length > 0 && a.every(li => li.dataset.action === "tenant.updated"); })()`)
		tb.do(t, "export", chromedp.Click(tid("audit-export")))
		tb.poll(t, "the export was saved", `(() => { const a = document.querySelector('[data-testid="audit-download"]'); return !!a && Number(a.dataset.bytes) > 0; })()`)
	})

	stepRun(t, "MemberWritesDocument", func(t *testing.T) {
		tb := member.tab
		tb.openPage(t, "documents")
		tb.do(t, "create a document",
			chromedp.SendKeys(tid("document-new-title"), "Notes on COBOL"),
			chromedp.SendKeys(tid("document-new-content"), "# Notes\nCommon business-oriented language."),
			chromedp.SendKeys(tid("document-new-tags"), "history, languages"),
			chromedp.Click(tid("document-submit")),
		)
		tb.waitTexts(t, "document-title", "Notes on COBOL")
	})

	stepRun(t, "MemberConversesLiveAndShares", func(t *testing.T) {
		tb := member.tab
		tb.openPage(t, "conversations")
		tb.do(t, "start a conversation",
			chromedp.SendKeys(tid("conversation-new-title"), "Bugs"),
			chromedp.Click(tid("conversation-submit")),
		)
		tb.poll(t, "it is open and live", `document.querySelector('[data-testid="conversation-live"]')?.dataset.state === "live"`)
		tb.do(t, "write a message",
			chromedp.SendKeys(tid("message-content-input"), "Found a moth in relay 70."),
			chromedp.Click(tid("message-submit")),
		)
		tb.waitTexts(t, "message-content", "Found a moth in relay 70.")
		// A message written elsewhere (here: straight to the API, not through
		// this page) arrives over the WebSocket.
		convID := tb.eval(t, `document.querySelector('[data-testid="conversation-item"]').dataset.conversationId`)
		status := tb.forceCall(t, "POST", "/api/v1/conversations/"+convID+"/messages", `{"role":"user","content":"First actual case of bug being found."}`)
		require.Equal(t, http.StatusCreated, status)
		tb.waitTexts(t, "message-content", "Found a moth in relay 70.", "First actual case of bug being found.")

		// Share it with the viewer, read-only.
		tb.do(t, "open the sharing dialog", chromedp.Click(css(`[data-testid="conversation-item"] [data-testid="share-open"]`)))
		tb.visible(t, "share-form")
		tb.do(t, "share with the viewer", chromedp.Evaluate[chromedp.Void](
			`(() => { const s = document.querySelector('[data-testid="share-subject"]'); s.value = [...s.options].find(o => o.textContent === "Victor Viewer").value; })()`),
			chromedp.Click(tid("share-submit")))
		tb.poll(t, "the share is listed", `[...document.querySelectorAll('[data-testid="share-item"]')].some(li => li.dataset.level === "viewer")`)
		tb.shot(t, shots, "member-phone-conversation-live-and-sharing")
	})

	stepRun(t, "MemberBuildsGraph", func(t *testing.T) {
		tb := member.tab
		tb.openPage(t, "graphs")
		tb.do(t, "create a graph",
			chromedp.SendKeys(tid("graph-new-name"), "People"),
			chromedp.Click(tid("graph-submit")),
		)
		tb.waitTexts(t, "graph-name", "People")
		tb.do(t, "open it", chromedp.Click(tid("graph-open")))
		for i, n := range []string{"Grace", "Howard"} {
			tb.do(t, "add node "+n,
				chromedp.SendKeys(tid("node-new-label"), n),
				chromedp.SendKeys(tid("node-new-type"), "person"),
				chromedp.Click(tid("node-submit")),
			)
			tb.waitCount(t, "node-item", i+1) // the form resets when the node is added: wait before typing again
		}
		tb.waitTexts(t, "node-label", "Grace", "Howard")
		tb.do(t, "link them", chromedp.Evaluate[chromedp.Void](
			`(() => { const t = document.querySelector('[data-testid="edge-target"]'); t.value = [...t.options].find(o => o.textContent === "Howard").value; })()`),
			chromedp.SendKeys(tid("edge-new-type"), "worked with"),
			chromedp.Click(tid("edge-submit")),
		)
		tb.waitTexts(t, "edge-text", "Grace —worked with→ Howard")
		tb.do(t, "neighbourhood of Grace", chromedp.Click(tid("node-neighbourhood")))
		tb.poll(t, "the neighbourhood is shown", `document.querySelector('[data-testid="status"]').textContent.startsWith("2 nodes and 1 edges")`)
		tb.shot(t, shots, "member-phone-graph")
	})

	stepRun(t, "AdminEditsAgent", func(t *testing.T) {
		tb := admin.tab
		// Made with a model the deployment no longer offers, so the edit can change it.
		require.Equal(t, http.StatusCreated, tb.forceCall(t, "POST", "/api/v1/agents", `{"name":"Librarian","model":"retired-model","instructions":"Be terse."}`))
		tb.openPage(t, "agents")
		agent := rowByText("agent-item", "agent-name", "Librarian")
		tb.poll(t, "the agent is listed", agent+` !== undefined && `+agent+`.querySelector('[data-testid="agent-edit"]') !== null`)
		agentID = tb.eval(t, agent+`.dataset.agentId`)
		tb.do(t, "open its edit form", chromedp.Evaluate[chromedp.Void](agent+`.querySelector('[data-testid="agent-edit"]').click()`))
		tb.visible(t, "agent-edit-form")
		require.Equal(t, "retired-model", tb.eval(t, `document.querySelector('[data-testid="agent-edit-model"]').value`))
		tb.do(t, "change instructions, model and context",
			chromedp.SetValue(tid("agent-edit-instructions"), "Answer from the notes, briefly."),
			chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('[data-testid="agent-edit-model"]'); s.value = "echo-1"; })()`),
			chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="agent-edit-documents"] label')].find(l => l.textContent === "Notes on COBOL").querySelector("input").click()`),
			chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="agent-edit-graphs"] label')].find(l => l.textContent === "People").querySelector("input").click()`),
			chromedp.Click(tid("agent-edit-save")),
		)
		tb.poll(t, "the agent is saved", `document.querySelector('[data-testid="status"]').textContent === "Agent Librarian saved."`)
		tb.reload(t)
		tb.openPage(t, "agents")
		agent = rowByText("agent-item", "agent-name", "Librarian")
		tb.poll(t, "the edit is visible after a reload", agent+`.querySelector('[data-testid="agent-instructions"]').textContent === "Answer from the notes, briefly."`)
		require.Equal(t, "echo-1 · 1 documents · 1 graphs", tb.eval(t, agent+`.querySelector('[data-testid="agent-meta"]').textContent`))

		// Shared with the member read-only: they see it, but not to edit.
		tb.do(t, "open the sharing dialog", chromedp.Evaluate[chromedp.Void](agent+`.querySelector('[data-testid="share-open"]').click()`))
		tb.visible(t, "share-form")
		tb.do(t, "share with the member", chromedp.Evaluate[chromedp.Void](
			`(() => { const s = document.querySelector('[data-testid="share-subject"]'); s.value = [...s.options].find(o => o.textContent === "Mary Member").value; })()`),
			chromedp.Click(tid("share-submit")))
		tb.poll(t, "the share is listed", `[...document.querySelectorAll('[data-testid="share-item"]')].some(li => li.dataset.level === "viewer")`)
		require.True(t, tb.isHidden(t, "error"))
	})

	stepRun(t, "MemberCannotEdit", func(t *testing.T) {
		tb := member.tab
		tb.openPage(t, "agents")
		tb.waitTexts(t, "agent-name", "Librarian")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="agent-edit"], [data-testid="agent-edit-form"]').length`),
			"a read-only share offers no edit, although the member holds agent.update")
		tb.openPage(t, "roles")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="role-edit"], [data-testid="role-edit-form"]').length`))
		tb.openPage(t, "teams")
		tb.waitTexts(t, "team-name", "Compiler team")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="team-edit"], [data-testid="team-edit-form"]').length`))
	})

	stepRun(t, "ViewerReadsOnly", func(t *testing.T) {
		tb := viewer.tab
		// The suspension ended the viewer's sessions: the console says so, and
		// the viewer signs in again with their passkey.
		tb.do(t, "reload", chromedp.Reload())
		tb.visible(t, "view-signin")
		require.Contains(t, tb.text(t, "status"), "session has ended")
		tb.do(t, "sign in again", chromedp.Click(tid("signin-button")))
		tb.visible(t, "view-console")
		tb.waitNav(t, viewer.pages...)
		tb.openPage(t, "conversations")
		tb.waitTexts(t, "conversation-title", "Bugs")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="conversation-new-card"], [data-testid="share-open"]').length`))
		tb.do(t, "open the shared conversation", chromedp.Click(tid("conversation-open")))
		tb.waitTexts(t, "message-content", "Found a moth in relay 70.", "First actual case of bug being found.")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="message-form"]').length`), "a viewer cannot write")

		tb.openPage(t, "documents")
		tb.poll(t, "the list has loaded", `document.querySelectorAll('[data-testid="document-item"], [data-testid="documents-empty"]').length > 0`)
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="document-new-card"], [data-testid="document-delete"]').length`),
			"a viewer is offered no way to write")
		tb.openPage(t, "members")
		tb.waitCount(t, "member-item", 4)
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="member-suspend"], [data-testid="member-remove"], [data-testid="member-roles"]').length`))
		tb.openPage(t, "roles")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="role-new-card"], [data-testid="role-delete"], [data-testid="role-edit"]').length`))
		tb.openPage(t, "teams")
		tb.waitTexts(t, "team-name", "Compiler team")
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="team-edit"], [data-testid="team-edit-form"]').length`))
		tb.openPage(t, "agents")
		tb.poll(t, "the list has loaded", `document.querySelectorAll('[data-testid="agent-item"], [data-testid="agents-empty"]').length > 0`)
		require.Equal(t, "0", tb.eval(t, `document.querySelectorAll('[data-testid="agent-edit"], [data-testid="agent-edit-form"]').length`))
	})

	// Forced calls the page does not offer: the server refuses them.
	stepRun(t, "ForcedCallsRefused", func(t *testing.T) {
		for _, c := range []struct {
			who          *persona
			method, path string
			body         string
		}{
			{member, "POST", "/api/v1/invitations", `{}`},
			{member, "GET", "/api/v1/audit-events", ``},
			{member, "PATCH", "/api/v1/tenant", `{"name":"Taken"}`},
			{member, "POST", "/api/v1/service-accounts", `{"name":"x"}`},
			{viewer, "GET", "/api/v1/service-accounts", ``},
			{viewer, "POST", "/api/v1/documents", `{"title":"x","content":"y"}`},
			{viewer, "POST", "/api/v1/teams", `{"name":"x"}`},
			{viewer, "GET", "/api/v1/tenant", ``},
			{viewer, "POST", "/api/v1/conversations", `{"title":"x"}`},
			{viewer, "POST", "/api/v1/agents", `{"name":"x","model":"m"}`},
			// Edits: the forms are absent for them, and forcing one fails.
			{member, "PATCH", "/api/v1/roles/" + roleID, `{"name":"taken"}`},
			{viewer, "PATCH", "/api/v1/roles/" + roleID, `{"permissions":["*"]}`},
			{member, "PATCH", "/api/v1/teams/" + teamID, `{"name":"taken"}`},
			{viewer, "PATCH", "/api/v1/teams/" + teamID, `{"name":"taken"}`},
			{member, "PATCH", "/api/v1/agents/" + agentID, `{"instructions":"Leak everything."}`}, // shared read-only
			{viewer, "PATCH", "/api/v1/agents/" + agentID, `{"instructions":"Leak everything."}`},
		} {
			status := c.who.tab.forceCall(t, c.method, c.path, c.body)
			require.Equal(t, http.StatusForbidden, status, "%s %s %s", c.who.name, c.method, c.path)
		}
	})

	stepRun(t, "Walk", func(t *testing.T) {
		for _, p := range []*persona{admin, member, viewer} {
			for _, vp := range viewports {
				p.tab.setViewport(t, vp)
				p.tab.openPage(t, "account")
				p.tab.waitCount(t, "session-item", 1)
				p.tab.shot(t, shots, fmt.Sprintf("%s-%s-account", p.name, vp.name))
				p.tab.waitNav(t, p.pages...)
				for _, page := range p.pages {
					p.tab.openPage(t, page)
					require.True(t, p.tab.isHidden(t, "error"), "%s sees no error on %s", p.name, page)
					p.tab.shot(t, shots, fmt.Sprintf("%s-%s-%s", p.name, vp.name, page))
				}
			}
		}
	})

	stepRun(t, "AdminSeesBrokenChain", func(t *testing.T) {
		// Someone with database access rewrites an event: "Verify chain" names it.
		db := site.env.App.DB
		ev, err := db.Client.AuditEvent.Query().Where(auditevent.Chain(site.tenant.String()), auditevent.Action("tenant.updated")).
			Order(ent.Asc(auditevent.FieldSeq)).First(site.env.System())
		require.NoError(t, err)
		_, err = db.DB.ExecContext(ctx, "UPDATE audit_events SET action = ? WHERE id = ?", "tenant.forged", ev.ID)
		require.NoError(t, err)
		tb := admin.tab
		tb.openPage(t, "audit")
		tb.do(t, "verify", chromedp.Click(tid("audit-verify")))
		tb.poll(t, "the break is named", fmt.Sprintf(
			`(() => { const v = document.querySelector('[data-testid="audit-verify-status"]').dataset; return v.state === "broken" && v.broken === "%d"; })()`, ev.Seq))
		require.Contains(t, tb.text(t, "audit-verify-status"), fmt.Sprintf("Broken at seq %d: its content was changed.", ev.Seq))
		require.True(t, tb.isHidden(t, "error"))
		tb.shot(t, shots, "admin-desktop-audit-broken")
	})

	b.requireClean(t)
}

// rowByText is a JavaScript expression: the list item (data-testid item)
// whose child textTestID reads exactly text, or undefined.
func rowByText(item, textTestID, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('[data-testid=%q]')].find(li => li.querySelector('[data-testid=%q]')?.textContent === %q)`, item, textTestID, text)
}

// reload reloads the page; the session survives in sessionStorage.
func (tb *tab) reload(t *testing.T) {
	t.Helper()
	tb.do(t, "reload", chromedp.Reload())
	tb.visible(t, "view-console")
}

// enrollAs opens an invitation link in a fresh browser context with its own
// passkey authenticator, enrolls, and returns the signed-in tab.
func enrollAs(t *testing.T, b *browser, link, name string) *tab {
	t.Helper()
	tb := b.tab(t, true)
	tb.addAuthenticator(t)
	tb.do(t, "open the invitation link", chromedp.Navigate(link))
	tb.visible(t, "view-enroll")
	tb.do(t, "enroll as "+name,
		chromedp.SendKeys(tid("enroll-display-name"), name),
		chromedp.SendKeys(tid("enroll-device-name"), "Laptop"),
		chromedp.Click(tid("enroll-submit")),
	)
	tb.visible(t, "view-console")
	tb.poll(t, "signed in as "+name, fmt.Sprintf(`document.querySelector('[data-testid="me-name"]').textContent === %q`, name))
	return tb
}

// waitNav waits until the navigation lists exactly Account and these pages.
func (tb *tab) waitNav(t *testing.T, pages ...string) {
	t.Helper()
	want := append([]string{"account"}, pages...)
	tb.poll(t, "the navigation lists "+strings.Join(want, ", "), fmt.Sprintf(
		`[...document.querySelectorAll('[data-testid="nav"] .tab')].map(b => b.dataset.page).join(",") === %q`, strings.Join(want, ",")))
}

// openPage clicks a navigation entry and waits until its page has loaded.
func (tb *tab) openPage(t *testing.T, page string) {
	t.Helper()
	tb.do(t, "open "+page, chromedp.Click(tid("nav-"+page)))
	if page == "account" {
		tb.visible(t, "page-account")
		return
	}
	tb.poll(t, page+" has loaded", fmt.Sprintf(
		`(() => { const p = document.querySelector('[data-testid="page-%s"]'); return !!p && p.querySelector('.card') !== null && !document.querySelector('[data-testid="nav-%[1]s"]').disabled; })()`, page))
}

// forceCall sends an API call with the tab's own access token, as a person
// poking at the API from the page would, and returns the status.
func (tb *tab) forceCall(t *testing.T, method, path, body string) int {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		const s = JSON.parse(sessionStorage.getItem("atrium.session"));
		const init = { method: %q, headers: { Authorization: "Bearer " + s.access_token, "Content-Type": "application/json" } };
		if (%q) init.body = %q;
		return (await fetch(%q, init)).status;
	})()`, method, body, body, path)
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "%s: %s %s", tb.name, method, path)
	return status
}

func (tb *tab) setViewport(t *testing.T, vp viewport) {
	t.Helper()
	tb.do(t, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(vp.scale)))
}

// shot saves a full-page screenshot as dir/name.png.
func (tb *tab) shot(t *testing.T, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	require.NoError(t, err, "%s: screenshot %s", tb.name, name)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// artifactsDir is where screenshots go: $ATRIUM_ARTIFACTS_DIR/browsertest
// (.ci/run sets it to .ci/artifacts), else the test's temp dir.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("ATRIUM_ARTIFACTS_DIR"); root != "" {
		dir = filepath.Join(root, "browsertest")
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		t.Logf("screenshots in %s: %d files", dir, len(names))
	})
	return dir
}
