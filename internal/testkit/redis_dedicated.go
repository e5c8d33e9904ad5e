package testkit

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DedicatedRedis is a redis-server of one test's own that the test can kill
// (SIGKILL, like a crash) and start again on the same port, for tests of
// what happens while Redis is away and once it is back. Nothing persists
// across a restart, as with a Redis without persistence. It is killed and
// removed when the test ends.
type DedicatedRedis struct {
	bin, dir string
	port     int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewDedicatedRedis starts a redis-server on a free port. It skips the test
// without a redis-server binary (fails with ATRIUM_TEST_REQUIRE_SERVICES=1).
func NewDedicatedRedis(tb testing.TB) *DedicatedRedis {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(tb, "redis-server (dedicated)", err)
	}
	sweepTempDirs("atrium-redis-")
	dir, err := ownedTempDir("atrium-redis-")
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		tb.Fatalf("testkit: %v", err)
	}
	r := &DedicatedRedis{bin: bin, dir: dir, port: port}
	tb.Cleanup(func() { r.Kill(); os.RemoveAll(dir) })
	r.Start(tb)
	return r
}

// URL is the redis:// URL of database 0.
func (r *DedicatedRedis) URL() string { return "redis://" + r.Addr() + "/0" }

// Addr is host:port.
func (r *DedicatedRedis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Kill kills the server with SIGKILL and waits for it to exit. It does
// nothing when the server is not running.
func (r *DedicatedRedis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// Start starts the server (again) on its port and waits until it answers.
func (r *DedicatedRedis) Start(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	if err := r.start(); err != nil {
		tb.Fatalf("testkit: start dedicated redis-server: %v", err)
	}
}

func (r *DedicatedRedis) start() error {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s := &redisSrv{url: &url.URL{Scheme: "redis", Host: r.Addr()}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.do(0, "PING")
		if err == nil {
			r.cmd, r.exited = cmd, exited
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not answer in 10s: %w", err)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %s", log)
		case <-time.After(20 * time.Millisecond): // polling interval
		}
	}
}
