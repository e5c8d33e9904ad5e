package browsertest_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"atrium/internal/apptest"
	"atrium/internal/testkit"
)

// TestAPIReference opens /docs in headless Chromium, as served by the app
// under its Content-Security-Policy, and requires that the reference renders
// the contract (an operation added by issue 15 among them) with no console
// error, no uncaught exception, no CSP or Trusted Types violation, and no
// request to another origin.
func TestAPIReference(t *testing.T) {
	t.Parallel()
	chrome := chromiumPath(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	env := apptest.New(t, testkit.SQLite(t))
	srv := httptest.NewUnstartedServer(env.App.Handler)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })

	var mu sync.Mutex
	var lines, problems, foreign []string
	_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err, "Network.enable")
	go func() {
		for e, err := range chromedp.Events(ctx, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			if u := e.Request.URL; !strings.HasPrefix(u, base+"/") {
				mu.Lock()
				foreign = append(foreign, u)
				mu.Unlock()
			}
		}
	}()
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			line := fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
			mu.Lock()
			lines = append(lines, line)
			if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") ||
				strings.Contains(m.Text, "Trusted") || strings.Contains(m.Text, "violates") {
				problems = append(problems, line)
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("browser console:\n%s", strings.Join(lines, "\n"))
		}
	})

	// The page and the reference it renders: a known operation and the
	// rendered Markdown of a description (sanitized HTML via the default
	// Trusted Types policy).
	sctx, scancel := context.WithTimeout(ctx, 120*time.Second)
	defer scancel()
	op := "#operations-me-acceptInvitation"
	present := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(%q) !== null`, sel), chromedp.WithPollingTimeout(90*time.Second))
	}
	start := time.Now()
	require.NoError(t, chromedp.Do(sctx, chromedp.Navigate(base+"/docs"), present(op)), "render /docs")
	t.Logf("/docs rendered the operations in %v", time.Since(start))
	// (Through the page's own DOM API: chromedp's node queries are slow on a
	// document this large.)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).innerText`, sel)))
		require.NoError(t, err, sel)
		return s
	}
	_, err = chromedp.Run(sctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).click(), true`, op+" .opblock-summary-control")))
	require.NoError(t, err, "open an operation")
	require.NoError(t, chromedp.Do(sctx, present(op+" .opblock-description-wrapper .renderedMarkdown code")), "its description")
	require.Contains(t, text(".swagger-ui .info .title"), "Atrium API")
	require.Contains(t, text(op+" .opblock-description-wrapper"), "member.joined", "the description's Markdown is rendered")
	n, err := chromedp.Run(sctx, chromedp.Evaluate[int](`document.querySelectorAll(".opblock").length`))
	require.NoError(t, err)
	require.Greater(t, n, 50, "every operation is listed")

	// Console messages arrive asynchronously.
	require.NoError(t, chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)))
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, problems, "console errors, exceptions or policy violations on /docs")
	require.Empty(t, foreign, "requests to another origin")
}
