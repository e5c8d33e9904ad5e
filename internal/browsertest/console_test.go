// Package browsertest_test drives the web console (web/) in headless Chromium
// with DevTools virtual authenticators, against a real Atrium instance:
// enrollment from an invitation link, sign-out, usernameless sign-in, token
// refresh, a second device, workspace switching, session revocation, device
// removal and a rate-limited sign-in, as a person would do them. See
// docs/web-console.md for how to run it.
package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/authz"
	"atrium/internal/config"
	"atrium/internal/ratelimit"
	"atrium/internal/testkit"
	"atrium/internal/viewer"

	_ "atrium/ent/runtime"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// step bounds one user-visible step; a passkey ceremony plus a few API calls
// take well under a second, so a stuck step fails fast with a useful message.
const step = 20 * time.Second

func TestConsole(t *testing.T) {
	t.Parallel()
	chrome := chromiumPath(t)
	site := startAtrium(t)
	ctx := context.Background()

	// The first admin invites a user; the link carries the token in the fragment.
	admin := site.env.Member(site.tenant, authz.RoleAdminID)
	inv, err := admin.Client.CreateInvitation(ctx, &api.InvitationCreate{})
	require.NoError(t, err)
	link := inv.EnrollmentURL
	require.True(t, strings.HasPrefix(link, site.base+"/#/enroll?invitation="),
		"enrollment_url %q must be the console link under ATRIUM_PUBLIC_URL %s", link, site.base)

	b := newBrowser(t, chrome)
	tab1 := b.tab(t, false)
	laptop := tab1.addAuthenticator(t)

	stepRun(t, "EnrollFromInvitation", func(t *testing.T) {
		tab1.do(t, "open the invitation link", chromedp.Navigate(link))
		tab1.visible(t, "view-enroll")
		require.NotContains(t, tab1.eval(t, `location.href`), "invitation=",
			"the token leaves the address bar at once")
		tab1.do(t, "fill the enrollment form",
			chromedp.SendKeys(tid("enroll-display-name"), "Ada Lovelace"),
			chromedp.SendKeys(tid("enroll-device-name"), "Laptop"),
			chromedp.Click(tid("enroll-submit")),
		)
		tab1.visible(t, "view-console")
		require.Equal(t, "Ada Lovelace", tab1.text(t, "me-name"))
		tab1.waitCount(t, "device-item", 1)
		require.Equal(t, "Laptop", tab1.text(t, "device-name"))
		require.Equal(t, "null", tab1.eval(t, `JSON.stringify(sessionStorage.getItem("atrium.invitation"))`),
			"the used invitation is forgotten")
		require.Len(t, laptop.credentials(t), 1, "the passkey is a resident credential on the laptop")
	})

	stepRun(t, "ErrUsedInvitation", func(t *testing.T) {
		other := b.tab(t, true)
		other.addAuthenticator(t)
		other.do(t, "open the used link", chromedp.Navigate(link))
		other.visible(t, "view-enroll")
		other.do(t, "enroll again",
			chromedp.SendKeys(tid("enroll-display-name"), "Mallory"),
			chromedp.Click(tid("enroll-submit")),
		)
		other.visible(t, "error")
		require.Contains(t, other.text(t, "error-message"), "invitation")
		require.Regexp(t, `^Request id: \S+$`, other.text(t, "error-request-id"))
		require.True(t, other.isHidden(t, "view-console"))
		// The banner offers the next step, and does not outlive its view.
		require.Equal(t, "Go to sign in", other.text(t, "error-action"))
		other.do(t, "take the next step", chromedp.Click(tid("error-action")))
		other.visible(t, "view-signin")
		require.True(t, other.isHidden(t, "error"), "the enrollment error is gone with its view")
		require.NotContains(t, other.eval(t, `location.href`), "enroll")

		// Opened again, the spent link starts from an empty form.
		other.do(t, "open the used link again", chromedp.Navigate(site.base+"/"), chromedp.Navigate(link))
		other.visible(t, "view-enroll")
		require.Equal(t, "", other.eval(t, `document.querySelector('[data-testid="enroll-display-name"]').value`))
	})

	stepRun(t, "SignInWithoutPasskey", func(t *testing.T) {
		// A person with no passkey here tries to sign in: the console points
		// them to their invitation link rather than saying "cancelled".
		other := b.tab(t, true)
		other.addAuthenticator(t)
		other.do(t, "open the console", chromedp.Navigate(site.base+"/"))
		other.visible(t, "view-signin")
		other.do(t, "sign in", chromedp.Click(tid("signin-button")))
		other.visible(t, "error")
		require.Contains(t, other.text(t, "error-message"), "invitation link")
		require.NotContains(t, other.text(t, "error-message"), "cancelled or timed out")
	})

	// The user is also a member of a second workspace.
	userID := uuid.MustParse(tab1.session(t).UserID)
	second := site.addMembership(t, userID, "Second Workspace")

	stepRun(t, "SignOut", func(t *testing.T) {
		before := tab1.session(t)
		tab1.do(t, "sign out", chromedp.Click(tid("signout-button")))
		tab1.visible(t, "view-signin")
		require.Equal(t, "null", tab1.eval(t, `JSON.stringify(sessionStorage.getItem("atrium.session"))`))
		require.Equal(t, http.StatusUnauthorized, site.get(t, "/api/v1/me", before.AccessToken).StatusCode,
			"the session ended on the server too")
	})

	stepRun(t, "SignInUsernameless", func(t *testing.T) {
		tab1.do(t, "sign in", chromedp.Click(tid("signin-button")))
		tab1.visible(t, "view-console")
		require.Equal(t, "Ada Lovelace", tab1.text(t, "me-name"))
		tab1.waitCount(t, "session-item", 1)
		// This session's "Sign out" is not styled as the red "Revoke" of others.
		require.Equal(t, "Sign out", tab1.text(t, "session-revoke"))
		require.Equal(t, "false", tab1.eval(t, `document.querySelector('[data-testid="session-revoke"]').classList.contains("danger")`))
		require.Equal(t, "This session", tab1.text(t, "session-current"))
	})

	stepRun(t, "RefreshOn401", func(t *testing.T) {
		// A reload with an access token the server refuses: the parallel
		// first calls get 401, share ONE refresh, and retry.
		before := tab1.session(t)
		tab1.do(t, "spoil the access token and reload",
			chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(sessionStorage.getItem("atrium.session")); s.access_token = "bogus"; sessionStorage.setItem("atrium.session", JSON.stringify(s)); })()`),
			chromedp.Reload(),
		)
		tab1.visible(t, "view-console")
		tab1.waitCount(t, "session-item", 1)
		after := tab1.session(t)
		require.NotEqual(t, before.RefreshToken, after.RefreshToken, "the refresh token rotated")
		require.Equal(t, before.SessionID, after.SessionID, "in the same session (a replayed refresh token would have ended it)")
		require.Equal(t, http.StatusOK, site.get(t, "/api/v1/me", after.AccessToken).StatusCode)
	})

	stepRun(t, "RefreshBeforeExpiry", func(t *testing.T) {
		before := tab1.session(t)
		tab1.do(t, "let the access token near its expiry and reload",
			chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(sessionStorage.getItem("atrium.session")); s.expires_at = Date.now() + 1000; sessionStorage.setItem("atrium.session", JSON.stringify(s)); })()`),
			chromedp.Reload(),
		)
		tab1.visible(t, "view-console")
		after := tab1.session(t)
		require.NotEqual(t, before.RefreshToken, after.RefreshToken, "refreshed before the first call")
		require.Equal(t, before.SessionID, after.SessionID)
	})

	stepRun(t, "RenameDevice", func(t *testing.T) {
		tab1.do(t, "rename the laptop",
			chromedp.Click(tid("device-rename")),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="device-rename-input"]').value = ""`),
			chromedp.SendKeys(tid("device-rename-input"), "Work laptop"),
			chromedp.Click(tid("device-rename-save")),
		)
		tab1.waitTexts(t, "device-name", "Work laptop")
	})

	stepRun(t, "SwitchTenant", func(t *testing.T) {
		tab1.waitCount(t, "tenant-select option", 2)
		before := tab1.session(t)
		tab1.selectTenant(t, second)
		after := tab1.session(t)
		require.Equal(t, before.SessionID, after.SessionID, "switching keeps the session")
		require.NotEqual(t, before.AccessToken, after.AccessToken)
		tab1.selectTenant(t, site.tenant.String())
	})

	// The laptop's passkey goes to a second browser later; its authenticator
	// leaves this tab so that the next create() lands on the phone.
	laptopCreds := laptop.credentials(t)
	laptop.remove(t)

	stepRun(t, "AddDevice", func(t *testing.T) {
		phone := tab1.addAuthenticator(t)
		tab1.do(t, "add a device",
			chromedp.SendKeys(tid("add-device-name"), "Phone"),
			chromedp.Click(tid("add-device-submit")),
		)
		tab1.waitCount(t, "device-item", 2)
		require.Len(t, phone.credentials(t), 1, "the new passkey is on the phone")
		tab1.waitTexts(t, "device-name", "Phone", "Work laptop")
		require.Equal(t, "Device added.", tab1.text(t, "status"))
		// The message goes with the next page (and by itself after a while).
		tab1.do(t, "open another page", chromedp.Click(tid("nav-documents")))
		tab1.poll(t, "the status is cleared", `document.querySelector('[data-testid="status"]').hidden`)
		tab1.do(t, "back to the account", chromedp.Click(tid("nav-account")))
		tab1.visible(t, "page-account")
	})

	stepRun(t, "RevokeSession", func(t *testing.T) {
		// A second browser (its own storage) signs in with the laptop's passkey.
		tab2 := b.tab(t, true)
		other := tab2.addAuthenticator(t)
		other.importCredentials(t, laptopCreds)
		tab2.do(t, "open the console", chromedp.Navigate(site.base+"/"))
		tab2.visible(t, "view-signin")
		tab2.do(t, "sign in", chromedp.Click(tid("signin-button")))
		tab2.visible(t, "view-console")
		stolen := tab2.session(t)

		tab1.do(t, "reload the lists", chromedp.Click(tid("refresh-button")))
		tab1.waitCount(t, "session-item", 2)
		site.screenshot(t, tab1)
		tab1.do(t, "revoke the other session",
			chromedp.Click(css(`[data-testid="session-item"][data-current="false"] [data-testid="session-revoke"]`)))
		tab1.waitCount(t, "session-item", 1)
		require.Equal(t, "true", tab1.eval(t, `document.querySelector('[data-testid="session-item"]').dataset.current`))

		// The revoked session's access token is refused on the very next call ...
		res := site.get(t, "/api/v1/me", stolen.AccessToken)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
		// ... and its console, on its next call, finds itself signed out.
		tab2.do(t, "use the revoked session", chromedp.Click(tid("refresh-button")))
		tab2.visible(t, "view-signin")
		require.Contains(t, tab2.text(t, "status"), "session has ended")
		require.Equal(t, "null", tab2.eval(t, `JSON.stringify(sessionStorage.getItem("atrium.session"))`))

		// The first tab is unaffected.
		tab1.do(t, "reload the lists", chromedp.Click(tid("refresh-button")))
		tab1.visible(t, "view-console")
		tab1.waitCount(t, "session-item", 1)
		// The reload renders the device list again when its answer comes:
		// a removal panel opened before that would be closed under the
		// next step's click (a CI run timed out on its confirm).
		tab1.waitIdle(t, "refresh-button")
	})

	stepRun(t, "RemoveDevices", func(t *testing.T) {
		// The phone goes; this session was opened with the laptop, so it stays.
		tab1.do(t, "remove the phone", chromedp.Evaluate[chromedp.Void](
			`[...document.querySelectorAll('[data-testid="device-item"]')].find(li => li.querySelector('[data-testid="device-name"]').textContent === "Phone").querySelector('[data-testid="device-remove"]').click()`))
		tab1.do(t, "confirm", chromedp.Click(css(`[data-testid="device-remove-panel"]:not([hidden]) [data-testid="device-remove-confirm"]`)))
		tab1.waitTexts(t, "device-name", "Work laptop")
		tab1.visible(t, "view-console")

		// The last device needs the explicit "close my account".
		tab1.do(t, "remove the laptop without ticking the box",
			chromedp.Click(tid("device-remove")),
			chromedp.Click(tid("device-remove-confirm")),
		)
		tab1.visible(t, "error")
		require.Contains(t, tab1.text(t, "error-message"), "close my account")
		tab1.waitTexts(t, "device-name", "Work laptop")
		tab1.do(t, "tick it and remove",
			chromedp.Click(tid("device-close-account")),
			chromedp.Click(tid("device-remove-confirm")),
		)
		tab1.visible(t, "view-signin")
		require.Contains(t, tab1.text(t, "status"), "account closed")
		require.Equal(t, "null", tab1.eval(t, `JSON.stringify(sessionStorage.getItem("atrium.session"))`))
	})

	b.requireClean(t)
}

// stepRun runs one step of the walk as a subtest; the steps build on each
// other, so the walk stops at the first one that fails.
func stepRun(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// TestConsoleRateLimited checks that a 429 shows how long to wait.
func TestConsoleRateLimited(t *testing.T) {
	t.Parallel()
	chrome := chromiumPath(t)
	site := startAtrium(t, apptest.WithRateLimits(ratelimit.Config{PerIP: ratelimit.PerHour(1, 1)}))
	// Spend this address's one sign-in start.
	res, err := http.Post(site.base+"/api/v1/auth/device/login/options", "application/json", nil)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	b := newBrowser(t, chrome)
	tb := b.tab(t, false)
	tb.addAuthenticator(t)
	tb.do(t, "open the console", chromedp.Navigate(site.base+"/"))
	tb.visible(t, "view-signin")
	tb.do(t, "sign in", chromedp.Click(tid("signin-button")))
	tb.visible(t, "error")
	require.Regexp(t, `^Too many attempts\. Try again in 60 minutes\.$`, tb.text(t, "error-message"))
	require.Regexp(t, `^Request id: \S+$`, tb.text(t, "error-request-id"))
	require.True(t, tb.isHidden(t, "view-console"))
	t.Logf("the console shows: %s", tb.text(t, "error-message"))
	b.requireClean(t)
}

// ---------------------------------------------------------------- Atrium ----

type site struct {
	env    *apptest.Env
	base   string // http://localhost:<port>, the WebAuthn origin (RP ID localhost)
	tenant uuid.UUID
}

// startAtrium runs Atrium on http://localhost:<port> with ATRIUM_PUBLIC_URL set
// to exactly that origin: WebAuthn checks the origin, and the RP ID must be
// the host the browser sees.
func startAtrium(t *testing.T, opts ...apptest.Option) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	opts = append([]apptest.Option{func(c *config.Config) { c.PublicURL = base }}, opts...)
	env := apptest.New(t, testkit.SQLite(t), opts...)

	// The app itself serves the console at / (internal/app mounts web.Patterns).
	h := env.App.Handler
	requireConsole(t, h)
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	tenant := env.Tenant()
	require.NoError(t, env.App.DB.Client.Tenant.UpdateOneID(tenant.ID).SetName("Analytical Engines").Exec(env.System()))
	return &site{env: env, base: base, tenant: tenant.ID}
}

// requireConsole checks that the app serves the console at / with its
// headers intact through the server's middleware.
func requireConsole(t *testing.T, h http.Handler) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, w.Code, "GET / must serve the web console")
	require.Contains(t, w.Body.String(), `data-testid="view-signin"`)
	require.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
	require.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'self'")
	require.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
}

// addMembership makes the user a member of a new tenant and returns its id.
func (s *site) addMembership(t *testing.T, userID uuid.UUID, name string) string {
	t.Helper()
	tn := s.env.Tenant()
	c := s.env.App.DB.Client
	require.NoError(t, c.Tenant.UpdateOneID(tn.ID).SetName(name).Exec(s.env.System()))
	tctx := viewer.SystemForTenant(s.env.Ctx, tn.ID, viewer.ReasonTest)
	_, err := c.Membership.Create().SetTenantID(tn.ID).SetUserID(userID).SetCreatedBy(userID).SetUpdatedBy(userID).Save(tctx)
	require.NoError(t, err)
	_, err = c.MemberRole.Create().SetTenantID(tn.ID).SetUserID(userID).SetRoleID(authz.RoleMemberID).
		SetCreatedBy(userID).SetUpdatedBy(userID).Save(tctx)
	require.NoError(t, err)
	return tn.ID.String()
}

func (s *site) get(t *testing.T, path, bearer string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	return res
}

// screenshot saves the phone-sized console under the test's temp dir, and
// with ATRIUM_UPDATE_SCREENSHOT=1 also as docs/img/console.png.
func (s *site) screenshot(t *testing.T, tb *tab) {
	t.Helper()
	tb.do(t, "scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "console.png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
	if os.Getenv("ATRIUM_UPDATE_SCREENSHOT") == "1" {
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "img", "console.png"), png, 0o644))
	}
}

// --------------------------------------------------------------- Chromium ----

// chromiumPath finds Chromium: $ATRIUM_TEST_CHROMIUM, /usr/bin/chromium, or
// chromium / chromium-browser / google-chrome on PATH. Without one the test
// is skipped loudly, or fails under ATRIUM_TEST_REQUIRE_SERVICES=1 (CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ATRIUM_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "browsertest: Chromium not found (install it: apt-get install -y --no-install-recommends chromium, or set ATRIUM_TEST_CHROMIUM)"
	if os.Getenv("ATRIUM_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s; it is required with ATRIUM_TEST_REQUIRE_SERVICES=1", msg)
	}
	fmt.Fprintf(os.Stderr, "!!! %s: the browser test is SKIPPED\n", msg)
	t.Skip("SKIPPED: " + msg)
	return ""
}

type browser struct {
	root context.Context
	logs *logBuf
	mu   sync.Mutex
	tabs []*tab
}

// newBrowser starts a headless Chromium with a fresh profile; it stops with
// the test.
func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(390, 844),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	require.NoError(t, chromedp.Do(root), "start Chromium")
	b := &browser{root: root, logs: &logBuf{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser console:\n%s", b.logs.String())
		}
	})
	return b
}

type tab struct {
	name string
	ctx  context.Context
	b    *browser
}

var tabSeq struct {
	sync.Mutex
	n int
}

// tab opens a tab, phone-sized; isolated puts it in a new browser context
// (its own storage, like another browser).
func (b *browser) tab(t *testing.T, isolated bool) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(b.root, opts...)
	t.Cleanup(cancel)
	tabSeq.Lock()
	tabSeq.n++
	name := fmt.Sprintf("tab%d", tabSeq.n)
	tabSeq.Unlock()
	tb := &tab{name: name, ctx: ctx, b: b}
	// Cleanups run last-in first-out: this one, before the tab closes, waits
	// until every message the tab logged so far has been received.
	t.Cleanup(func() { tb.flush(t) })
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))))
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			line := fmt.Sprintf("%s %s: %s (%s:%d)", name, m.Type, m.Text, m.URL, m.Line)
			b.logs.add(line, m.IsException() || strings.Contains(m.Text, "Content Security Policy") ||
				strings.Contains(m.Text, "Trusted") || strings.Contains(m.Text, "JSHandle@"))
		}
	}()
	_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	require.NoError(t, err, "WebAuthn.enable")
	b.mu.Lock()
	b.tabs = append(b.tabs, tb)
	b.mu.Unlock()
	return tb
}

var flushSeq struct {
	sync.Mutex
	n int
}

// flush logs a marker in the tab and waits until it arrives: DevTools
// delivers a tab's console messages in order, so every earlier one has too.
// A tab already closed has nothing more to deliver.
func (tb *tab) flush(t *testing.T) {
	t.Helper()
	if tb.ctx.Err() != nil {
		return
	}
	flushSeq.Lock()
	flushSeq.n++
	marker := fmt.Sprintf("browsertest-flush-%d", flushSeq.n)
	flushSeq.Unlock()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`console.debug(%q)`, marker))); err != nil {
		return // the tab closed meanwhile
	}
	if !tb.b.logs.waitFor(marker, step) {
		t.Errorf("%s: the console's messages did not arrive", tb.name)
	}
}

func (tb *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %s: %v%s", tb.name, what, err, tb.pageError())
	}
}

// pageError returns the console's error banner, if it shows one.
func (tb *tab) pageError() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(() => { const e = document.querySelector('[data-testid="error"]'); return e && !e.hidden ? e.innerText : "" })()`))
	if err != nil || s == "" {
		return ""
	}
	return "\npage shows: " + s
}

func (tb *tab) visible(t *testing.T, testID string) {
	t.Helper()
	tb.do(t, "wait for "+testID, chromedp.WaitVisible(tid(testID)))
}

func (tb *tab) poll(t *testing.T, what, expr string) {
	t.Helper()
	// A page that redraws may briefly lack an element: that is "not yet", not an error.
	safe := fmt.Sprintf(`(() => { try { return (%s); } catch { return false; } })()`, expr)
	tb.do(t, what, chromedp.Poll[chromedp.Void](safe, chromedp.WithPollingTimeout(step-time.Second)))
}

// waitCount waits until exactly n elements have the test id (a test id may be
// followed by more CSS, e.g. "tenant-select option").
func (tb *tab) waitCount(t *testing.T, sel string, n int) {
	t.Helper()
	id, rest, _ := strings.Cut(sel, " ")
	q := fmt.Sprintf(`[data-testid=%q] %s`, id, rest)
	tb.poll(t, fmt.Sprintf("%d × %s", n, sel), fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, q, n))
}

// waitTexts waits until the elements with the test id have exactly these
// texts, in any order.
func (tb *tab) waitTexts(t *testing.T, testID string, want ...string) {
	t.Helper()
	sort.Strings(want)
	wantJSON, _ := json.Marshal(want)
	expr := fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('[data-testid=%q]')].map(e => e.textContent).sort())`, testID)
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr+" === "+strconv.Quote(string(wantJSON)),
		chromedp.WithPollingTimeout(step-time.Second)))
	if err != nil {
		t.Fatalf("%s: want %s = %s, have %s: %v%s", tb.name, testID, wantJSON, tb.eval(t, expr), err, tb.pageError())
	}
}

// waitIdle waits until the control testID is no longer busy (ui.ts busy:
// aria-busy is set while the action it started runs).
func (tb *tab) waitIdle(t *testing.T, testID string) {
	t.Helper()
	tb.poll(t, testID+" idle", fmt.Sprintf(`!document.querySelector('[data-testid=%q]').hasAttribute("aria-busy")`, testID))
}

func (tb *tab) isHidden(t *testing.T, testID string) bool {
	t.Helper()
	return tb.eval(t, fmt.Sprintf(`document.querySelector('[data-testid=%q]').hidden`, testID)) == "true"
}

func (tb *tab) text(t *testing.T, testID string) string {
	t.Helper()
	return tb.eval(t, fmt.Sprintf(`document.querySelector('[data-testid=%q]').textContent`, testID))
}

func (tb *tab) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+expr+`)`))
	require.NoError(t, err, "%s: evaluate %s", tb.name, expr)
	return s
}

// selectTenant picks a workspace in the switcher and waits until the console
// has moved the session there and reloaded.
func (tb *tab) selectTenant(t *testing.T, id string) {
	t.Helper()
	tb.do(t, "choose workspace "+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const s = document.querySelector('[data-testid="tenant-select"]'); s.value = %q; s.dispatchEvent(new Event("change")); })()`, id)))
	tb.poll(t, "the session moves to workspace "+id, fmt.Sprintf(
		`JSON.parse(sessionStorage.getItem("atrium.session")).tenant_id === %q && `+
			`document.querySelector('[data-testid="status"]').textContent === "Workspace switched." && `+
			`!document.querySelector('[data-testid="tenant-select"]').disabled && `+
			`document.querySelector('[data-testid="tenant-select"]').value === %[1]q`, id))
}

type storedSession struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	UserID       string `json:"user_id"`
	TenantID     string `json:"tenant_id"`
	SessionID    string `json:"session_id"`
}

// session reads the tokens the console keeps in sessionStorage.
func (tb *tab) session(t *testing.T) storedSession {
	t.Helper()
	var s storedSession
	require.NoError(t, json.Unmarshal([]byte(tb.eval(t, `sessionStorage.getItem("atrium.session")`)), &s))
	require.NotEmpty(t, s.AccessToken)
	return s
}

// ---------------------------------------------------------- authenticators ----

type authenticator struct {
	tab *tab
	id  webauthn.AuthenticatorID
}

// addAuthenticator attaches a platform-like passkey authenticator to the tab:
// CTAP2, internal transport, resident keys, user verification that succeeds,
// and presence simulated (otherwise create() and get() wait for a touch).
func (tb *tab) addAuthenticator(t *testing.T) *authenticator {
	t.Helper()
	res, err := chromedp.Call(tb.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	require.NoError(t, err, "WebAuthn.addVirtualAuthenticator")
	return &authenticator{tab: tb, id: res.AuthenticatorID}
}

func (a *authenticator) credentials(t *testing.T) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(a.tab.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.id})
	require.NoError(t, err, "WebAuthn.getCredentials")
	return res.Credentials
}

// importCredentials copies passkeys (private keys included) into a, as if
// they had been synced to it.
func (a *authenticator) importCredentials(t *testing.T, creds []*webauthn.Credential) {
	t.Helper()
	for _, c := range creds {
		_, err := chromedp.Call(a.tab.ctx, addCredential, addCredentialParams{AuthenticatorID: a.id, Credential: importedCredential{
			CredentialID: c.CredentialID, IsResidentCredential: c.IsResidentCredential, RpID: c.RpID,
			PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: c.SignCount,
		}})
		require.NoError(t, err, "WebAuthn.addCredential")
	}
}

// addCredential is WebAuthn.addCredential with only the classic fields:
// cdproto's Credential always sends generateCmtgKeyOnNextOperation, which a
// virtual authenticator without the CMTG extension refuses.
var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      importedCredential       `json:"credential"`
}

type importedCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
}

func (a *authenticator) remove(t *testing.T) {
	t.Helper()
	_, err := chromedp.Call(a.tab.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.id})
	require.NoError(t, err, "WebAuthn.removeVirtualAuthenticator")
}

// ------------------------------------------------------------------ bits ----

// tid selects the element with a data-testid.
func tid(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

type logBuf struct {
	mu       sync.Mutex
	lines    []string
	problems []string      // uncaught exceptions, CSP and Trusted Types violations
	changed  chan struct{} // closed (and replaced) when a line arrives
}

func (l *logBuf) add(s string, problem bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if problem {
		l.problems = append(l.problems, s)
	}
	if l.changed != nil {
		close(l.changed)
	}
	l.changed = make(chan struct{})
}

// waitFor waits until a line containing s has arrived, or d has passed.
func (l *logBuf) waitFor(s string, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, s) {
				l.mu.Unlock()
				return true
			}
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// requireClean fails the test if a page threw an uncaught exception or broke
// the Content-Security-Policy. Console messages arrive asynchronously, so it
// first flushes every open tab's messages.
func (b *browser) requireClean(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	tabs := append([]*tab(nil), b.tabs...)
	b.mu.Unlock()
	for _, tb := range tabs {
		tb.flush(t)
	}
	b.logs.mu.Lock()
	defer b.logs.mu.Unlock()
	require.Empty(t, b.logs.problems, "the console logged exceptions or policy violations")
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
