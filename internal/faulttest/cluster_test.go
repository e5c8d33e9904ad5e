package faulttest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"atrium/gen/api"
	"atrium/internal/apptest"
	"atrium/internal/audit"
	"atrium/internal/authz"
	"atrium/internal/testkit"
)

// degradedTTL is ATRIUM_DEGRADED_CACHE_TTL of the instances: how long a
// revoked session may still be accepted by another instance while Redis is
// down.
const degradedTTL = time.Second

// TestCluster: two `atrium serve` processes on one PostgreSQL and one Redis,
// under a steady write load through the generated client, while Redis is
// killed and restarted, PostgreSQL stopped and restarted, one instance
// killed with SIGKILL and the other stopped with SIGTERM (both restarted).
// Every acknowledged write is readable afterwards; no request with a valid
// token is answered 500 or 401 (a dependency down is 503 + Retry-After; a
// refused connection to a dead instance is counted apart); /ready says
// degraded (200) without Redis and 503 without PostgreSQL; each instance
// recovers by itself; a logout on one instance is honoured by the other
// during and after the Redis outage; the audit chain verifies.
func TestCluster(t *testing.T) {
	t.Parallel()
	bin := make(chan string, 1)
	go func() { bin <- buildAtrium(t) }() // while the servers initialise
	pg := testkit.NewDedicatedPostgres(t)
	rd := testkit.NewDedicatedRedis(t)
	kek := make([]byte, 32)
	for i := range kek {
		kek[i] = byte(i + 1)
	}
	// The in-process app only sets up tenants, members and tokens, and
	// reads what was written at the end.
	env := apptest.New(t, apptest.OpenPostgres(t, pg.URL(), nil), apptest.WithKEK(kek), apptest.WithRedis(rd.URL()))
	ctx := context.Background()
	ten := env.Tenant()
	writers := []*apptest.Member{
		env.Member(ten.ID, authz.RoleAdminID), env.Member(ten.ID, authz.RoleAdminID), env.Member(ten.ID, authz.RoleAdminID),
	}
	during, after := env.Member(ten.ID, authz.RoleAdminID), env.Member(ten.ID, authz.RoleAdminID)

	exe := <-bin
	if exe == "" {
		t.FailNow()
	}
	envv := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ATRIUM_DATABASE_URL=" + pg.URL(), "ATRIUM_REDIS_URL=" + rd.URL(),
		"ATRIUM_KEY_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(kek),
		"ATRIUM_DEGRADED_CACHE_TTL=" + degradedTTL.String(),
		"ATRIUM_SHUTDOWN_TIMEOUT=10s", "ATRIUM_LOG_LEVEL=warn",
		// The tokens come from the in-process app: the instances must
		// accept its issuer and audience (their defaults follow the port).
		"ATRIUM_PUBLIC_URL=" + env.App.Config.PublicURL,
		"ATRIUM_TOKEN_ISSUER=" + env.App.Config.Issuer,
		"ATRIUM_TOKEN_AUDIENCE=" + env.App.Config.Audience,
	}
	a, b := newInstance(t, "A", exe, envv), newInstance(t, "B", exe, envv)
	a.start(t)
	b.start(t)
	a.awaitReady(t, "ok")
	b.awaitReady(t, "ok")

	admin := newClientAt(t, a.url(), writers[0].Token)
	conv, err := admin.CreateConversation(ctx, &api.ConversationCreate{Title: api.NewOptString("cluster")})
	require.NoError(t, err)

	ld := startLoad(t, conv.ID, writers, a, b)
	ld.awaitAcks(t, 20)

	t.Run("RedisKilled", func(t *testing.T) {
		rd.Kill()
		for _, in := range []*instance{a, b} {
			took := in.awaitReady(t, "degraded")
			t.Logf("%s: /ready 200 redis degraded %s after Redis was killed", in.name, took.Round(time.Millisecond))
		}
		ld.awaitAcks(t, 20) // writes go on
		took := revoke(t, during, a, b)
		t.Logf("logout on A honoured by B %s later, Redis down (degraded TTL %s)", took.Round(time.Millisecond), degradedTTL)
	})
	t.Run("RedisRestarted", func(t *testing.T) {
		rd.Start(t)
		for _, in := range []*instance{a, b} {
			took := in.awaitReady(t, "ok")
			t.Logf("%s: /ready redis ok %s after Redis was restarted", in.name, took.Round(time.Millisecond))
		}
		ld.awaitAcks(t, 20)
		took := revoke(t, after, a, b)
		t.Logf("logout on A honoured by B %s later, Redis back", took.Round(time.Millisecond))
	})
	t.Run("PostgresStopped", func(t *testing.T) {
		pg.Stop()
		for _, in := range []*instance{a, b} {
			in.awaitUnready(t)
		}
		n := ld.unavailable.Load()
		awaitOK(t, "writes answered 503", func() error {
			if ld.unavailable.Load() < n+4 {
				return errors.New("no 503 yet")
			}
			return nil
		})
		pg.Start(t)
		for _, in := range []*instance{a, b} {
			took := in.awaitReady(t, "ok")
			t.Logf("%s: /ready 200 %s after PostgreSQL accepted connections again", in.name, took.Round(time.Millisecond))
		}
		took := ld.awaitAcks(t, 20)
		t.Logf("20 more writes acknowledged %s after PostgreSQL came back", took.Round(time.Millisecond))
	})
	t.Run("InstanceKilled", func(t *testing.T) {
		a.signal(t, syscall.SIGKILL)
		n := ld.refused.Load()
		ld.awaitAcks(t, 20) // B serves meanwhile
		require.Greater(t, ld.refused.Load(), n, "the load reached the dead instance")
		took := a.start(t)
		t.Logf("A: restarted after SIGKILL, ready %s after exec", took.Round(time.Millisecond))
	})
	t.Run("InstanceTerminated", func(t *testing.T) {
		code := b.signal(t, syscall.SIGTERM)
		require.Zero(t, code, "SIGTERM is a clean shutdown:\n%s", b.log())
		ld.awaitAcks(t, 20)
		took := b.start(t)
		t.Logf("B: restarted after SIGTERM, ready %s after exec", took.Round(time.Millisecond))
		ld.awaitAcks(t, 20)
	})

	acked := ld.stop()
	t.Logf("load: %d writes acknowledged, %d answered 503 + Retry-After, %d refused (instance down)",
		len(acked), ld.unavailable.Load(), ld.refused.Load())
	t.Run("NoLie", func(t *testing.T) {
		require.Empty(t, ld.violations(), "answers that were neither a success nor 503 + Retry-After")
	})
	t.Run("OKNoAcknowledgedWriteLost", func(t *testing.T) {
		stored := map[uuid.UUID]bool{}
		params := api.ListMessagesParams{ConversationId: conv.ID, Limit: api.NewOptInt(100)}
		for {
			page, err := admin.ListMessages(ctx, params)
			require.NoError(t, err)
			for _, m := range page.Items {
				stored[m.ID] = true
			}
			if !page.NextCursor.Set || page.NextCursor.Value == "" {
				break
			}
			params.Cursor = page.NextCursor
		}
		var lost []uuid.UUID
		for _, id := range acked {
			if !stored[id] {
				lost = append(lost, id)
			}
		}
		require.Empty(t, lost, "acknowledged writes missing afterwards")
	})
	t.Run("OKAuditChain", func(t *testing.T) {
		reps, err := audit.Verify(ctx, env.App.DB.Client, "")
		require.NoError(t, err)
		require.NotEmpty(t, reps)
		for _, r := range reps {
			require.Empty(t, r.Problems, "chain %s", r.Chain)
		}
	})
}

// revoke logs m out on from and polls to until it refuses m's token (401),
// at most recoveryBound. m's session is used on to first, so that to has
// it cached.
func revoke(t *testing.T, m *apptest.Member, from, to *instance) time.Duration {
	t.Helper()
	ctx := context.Background()
	cf, ct := newClientAt(t, from.url(), m.Token), newClientAt(t, to.url(), m.Token)
	_, err := ct.GetMe(ctx)
	require.NoError(t, err)
	require.NoError(t, cf.Logout(ctx))
	return awaitOK(t, "revocation on "+to.name, func() error {
		_, err := ct.GetMe(ctx)
		if s := statusOf(err); s != http.StatusUnauthorized {
			return fmt.Errorf("status %d: %v", s, err)
		}
		return nil
	})
}

func newClientAt(t *testing.T, base, tok string) *client {
	t.Helper()
	c := &client{}
	ac, err := api.NewClient(base+"/api/v1", bearer(tok), api.WithClient(&http.Client{Transport: c, Timeout: 15 * time.Second}))
	require.NoError(t, err)
	c.Client = ac
	return c
}

// buildAtrium builds the atrium binary into a temporary directory and
// returns its path ("" after a failure, reported on t).
func buildAtrium(t *testing.T) string {
	// `go test` puts the go command that runs it first in PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Errorf("no go command to build atrium: %v", err)
		return ""
	}
	exe := filepath.Join(t.TempDir(), "atrium")
	out, err := exec.Command(goBin, "build", "-o", exe, "atrium/cmd/atrium").CombinedOutput()
	if err != nil {
		t.Errorf("go build atrium: %v\n%s", err, out)
		return ""
	}
	return exe
}

// instance is one `atrium serve` process, restartable on the same address.
type instance struct {
	name, exe, addr, logPath string
	env                      []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newInstance(t *testing.T, name, exe string, env []string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	in := &instance{name: name, exe: exe, addr: addr, logPath: filepath.Join(dir, "log"),
		env: append(env, "ATRIUM_HTTP_ADDR="+addr, "ATRIUM_DATA_DIR="+dir)}
	t.Cleanup(func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.cmd != nil {
			in.cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, in.log())
		}
	})
	return in
}

func (in *instance) url() string { return "http://" + in.addr }

func (in *instance) log() string { b, _ := os.ReadFile(in.logPath); return string(b) }

// start runs the process and waits until /ready answers 200; it returns how
// long that took.
func (in *instance) start(t *testing.T) time.Duration {
	t.Helper()
	f, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer f.Close()
	cmd := exec.Command(in.exe, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = in.env, f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	begin := time.Now()
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	in.mu.Lock()
	in.cmd, in.exited = cmd, exited
	in.mu.Unlock()
	in.awaitReady(t, "ok")
	return time.Since(begin)
}

// signal sends sig and waits for the process to exit; it returns its exit
// code (-1 when killed by a signal).
func (in *instance) signal(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	in.mu.Lock()
	cmd, exited := in.cmd, in.exited
	in.cmd = nil
	in.mu.Unlock()
	require.NoError(t, cmd.Process.Signal(sig))
	select {
	case <-exited:
	case <-time.After(recoveryBound):
		cmd.Process.Kill()
		t.Fatalf("%s did not exit on %s", in.name, sig)
	}
	return cmd.ProcessState.ExitCode()
}

// awaitReady polls /ready until it answers 200 with Redis in state redis
// and the database ok, at most recoveryBound.
func (in *instance) awaitReady(t *testing.T, redis string) time.Duration {
	t.Helper()
	anon := newClientAt(t, in.url(), "")
	return awaitOK(t, in.name+" ready, redis "+redis, func() error {
		in.mu.Lock()
		exited := in.exited
		in.mu.Unlock()
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", in.name, in.log())
		default:
		}
		r, err := anon.GetReady(context.Background())
		if err != nil {
			return err
		}
		if r.Checks.Value["redis"] != redis || r.Checks.Value["database"] != "ok" {
			return fmt.Errorf("checks %v", r.Checks.Value)
		}
		return nil
	})
}

// awaitUnready polls /ready until it answers 503 with Retry-After.
func (in *instance) awaitUnready(t *testing.T) {
	t.Helper()
	anon := newClientAt(t, in.url(), "")
	took := awaitOK(t, in.name+" unready", func() error {
		_, err := anon.GetReady(context.Background())
		if statusOf(err) != http.StatusServiceUnavailable || anon.RetryAfter() == "" {
			return fmt.Errorf("not 503 + Retry-After: %v", err)
		}
		return nil
	})
	t.Logf("%s: /ready 503 + Retry-After %s after PostgreSQL stopped", in.name, took.Round(time.Millisecond))
}

// load is a steady, bounded write load: one goroutine per writer appends
// messages, alternating between the instances, and records every write
// acknowledged and every answer that is not a success.
type load struct {
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	acks        atomic.Int64
	unavailable atomic.Int64 // 503 + Retry-After
	refused     atomic.Int64 // no HTTP answer: the instance is down

	mu    sync.Mutex
	acked []uuid.UUID
	wrong []string
}

func startLoad(t *testing.T, conv uuid.UUID, writers []*apptest.Member, ins ...*instance) *load {
	ctx, cancel := context.WithCancel(context.Background())
	ld := &load{cancel: cancel}
	for w, m := range writers {
		clients := make([]*client, len(ins))
		for i, in := range ins {
			clients[i] = newClientAt(t, in.url(), m.Token)
		}
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				i := n % len(clients)
				c := clients[i]
				res, err := c.AppendMessage(ctx, &api.MessageCreate{Role: api.MessageRoleUser, Content: "w" + strconv.Itoa(w) + "-" + strconv.Itoa(n)},
					api.AppendMessageParams{ConversationId: conv})
				ld.record(ctx, ins[i].name, res, err, c.RetryAfter())
				select { // pacing: a bounded load, not a wait for time to pass
				case <-ctx.Done():
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
	}
	t.Cleanup(func() { ld.stop() })
	return ld
}

func (ld *load) record(ctx context.Context, instance string, res *api.AppendedMessages, err error, retryAfter string) {
	var se *api.ErrorStatusCode
	switch {
	case err == nil:
		ld.mu.Lock()
		ld.acked = append(ld.acked, res.Message.ID)
		ld.mu.Unlock()
		ld.acks.Add(1)
	case ctx.Err() != nil:
	case errors.As(err, &se) && se.StatusCode == http.StatusServiceUnavailable && retryAfter != "":
		ld.unavailable.Add(1)
	case errors.As(err, &se):
		ld.mu.Lock()
		ld.wrong = append(ld.wrong, fmt.Sprintf("%s: %d (Retry-After %q): %v", instance, se.StatusCode, retryAfter, err))
		ld.mu.Unlock()
	case refusedOrReset(err):
		ld.refused.Add(1)
	default:
		ld.mu.Lock()
		ld.wrong = append(ld.wrong, fmt.Sprintf("%s: %v", instance, err))
		ld.mu.Unlock()
	}
}

// refusedOrReset: the instance was not there to answer (killed, stopping,
// starting): the client's problem, not a wrong answer.
func refusedOrReset(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "EOF")
}

// awaitAcks waits until n more writes are acknowledged, at most
// recoveryBound, and returns how long that took.
func (ld *load) awaitAcks(t *testing.T, n int64) time.Duration {
	t.Helper()
	want := ld.acks.Load() + n
	return awaitOK(t, "acknowledged writes", func() error {
		if ld.acks.Load() < want {
			return fmt.Errorf("%d of %d acknowledged writes", ld.acks.Load(), want)
		}
		return nil
	})
}

// stop ends the load, waits for its goroutines and returns the
// acknowledged write ids.
func (ld *load) stop() []uuid.UUID {
	ld.cancel()
	ld.wg.Wait()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.acked
}

func (ld *load) violations() []string {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.wrong
}
