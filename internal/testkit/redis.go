package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// RedisURL returns a redis:// URL for this test alone.
//
// Isolation is by logical database number: on a real server (from
// ATRIUM_TEST_REDIS_URL or a throwaway redis-server) each test leases a
// database number of its own (1…N-1; database 0 holds the leases, so test
// binaries running at the same time share a server safely), flushed before
// and after the test. Without a redis-server binary each test gets its own
// miniredis (database 0) — unless ATRIUM_TEST_REQUIRE_SERVICES=1, which
// demands a real Redis.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	srv, err := redisServer()
	if err != nil {
		if requireServices() {
			tb.Fatalf("testkit: a real Redis is required (ATRIUM_TEST_REQUIRE_SERVICES=1) but unavailable: %v", err)
		}
		announce("Redis", "in-process miniredis per test ("+err.Error()+")")
		m := miniredis.RunT(tb)
		return "redis://" + m.Addr() + "/0"
	}
	return srv.lease(tb)
}

// DisposableRedis starts a redis-server of this test's own and returns its
// URL and a function that kills it (idempotent; also run at cleanup): for
// tests of what happens when Redis goes away. It skips the test without a
// redis-server binary (fails with ATRIUM_TEST_REQUIRE_SERVICES=1).
func DisposableRedis(tb testing.TB) (redisURL string, stop func()) {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(tb, "redis-server (disposable)", err)
	}
	u, stop, err := startRedis(bin, 16)
	if err != nil {
		tb.Fatalf("testkit: start redis-server: %v", err)
	}
	tb.Cleanup(stop)
	return u + "/0", stop
}

type redisSrv struct {
	url *url.URL // base: scheme, user, host
	dbs int      // logical databases the server has
}

var (
	redisOnce sync.Once
	redisS    *redisSrv
	redisErr  error
)

func redisServer() (*redisSrv, error) {
	redisOnce.Do(func() { redisS, redisErr = findRedis() })
	return redisS, redisErr
}

func findRedis() (*redisSrv, error) {
	if raw := os.Getenv("ATRIUM_TEST_REDIS_URL"); raw != "" {
		s, err := newRedisSrv(raw)
		if err != nil {
			return nil, fmt.Errorf("ATRIUM_TEST_REDIS_URL: %w", err)
		}
		announce("Redis", fmt.Sprintf("real server from ATRIUM_TEST_REDIS_URL (%s), a leased logical DB per test out of %d", s.url.Host, s.dbs))
		return s, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("no ATRIUM_TEST_REDIS_URL and no redis-server binary")
	}
	raw, stop, err := startRedis(bin, 1024)
	if err != nil {
		return nil, fmt.Errorf("start throwaway redis-server: %w", err)
	}
	onStop(stop)
	s, err := newRedisSrv(raw)
	if err != nil {
		return nil, err
	}
	announce("Redis", "throwaway redis-server at "+s.url.Host+", a leased logical DB per test")
	return s, nil
}

func newRedisSrv(raw string) (*redisSrv, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	base := *u
	base.Path, base.RawQuery = "", ""
	s := &redisSrv{url: &base, dbs: 16}
	reply, err := s.do(0, "CONFIG", "GET", "databases")
	if err != nil {
		if _, err := s.do(0, "PING"); err != nil {
			return nil, err
		}
	} else if arr, ok := reply.([]any); ok && len(arr) == 2 {
		if n, err := strconv.Atoi(fmt.Sprint(arr[1])); err == nil && n > 1 {
			s.dbs = n
		}
	}
	if s.dbs < 2 {
		return nil, errors.New("redis has a single database; testkit needs at least 2")
	}
	return s, nil
}

const leaseTTL = 15 * time.Minute

// lease reserves a logical database for tb and returns its URL.
func (s *redisSrv) lease(tb testing.TB) string {
	tb.Helper()
	token := randomHex(8)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		start, err := s.do(0, "INCR", "atrium:testkit:next-db")
		if err != nil {
			tb.Fatalf("testkit: redis: %v", err)
		}
		first, _ := start.(int64)
		for i := range int64(s.dbs - 1) {
			n := 1 + int((first+i)%int64(s.dbs-1))
			key := "atrium:testkit:lease:" + strconv.Itoa(n)
			ok, err := s.do(0, "SET", key, token, "NX", "PX", strconv.FormatInt(leaseTTL.Milliseconds(), 10))
			if err != nil {
				tb.Fatalf("testkit: redis: %v", err)
			}
			if ok == nil {
				continue // leased by another test
			}
			if _, err := s.do(n, "FLUSHDB"); err != nil {
				tb.Fatalf("testkit: redis: %v", err)
			}
			tb.Cleanup(func() {
				s.do(n, "FLUSHDB")
				s.do(0, "DEL", key)
			})
			u := *s.url
			u.Path = "/" + strconv.Itoa(n)
			return u.String()
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testkit: all %d redis databases stayed leased for 2 minutes", s.dbs-1)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startRedis starts a throwaway redis-server on a free port and returns its
// base URL and an idempotent stop.
func startRedis(bin string, databases int) (string, func(), error) {
	sweepTempDirs("atrium-redis-")
	dir, err := ownedTempDir("atrium-redis-")
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--databases", strconv.Itoa(databases), "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-exited
			os.RemoveAll(dir)
		})
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &redisSrv{url: &url.URL{Scheme: "redis", Host: addr}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.do(0, "PING"); err == nil {
			return "redis://" + addr, stop, nil
		} else if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server did not answer in 10s: %w", err)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			stop()
			return "", nil, fmt.Errorf("redis-server exited: %s", log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// do runs one command on logical database db over a fresh connection: a
// minimal RESP client, enough for leases and flushing.
func (s *redisSrv) do(db int, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", s.url.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var cmds [][]string
	if pw, ok := s.url.User.Password(); ok {
		if name := s.url.User.Username(); name != "" {
			cmds = append(cmds, []string{"AUTH", name, pw})
		} else {
			cmds = append(cmds, []string{"AUTH", pw})
		}
	}
	if db != 0 {
		cmds = append(cmds, []string{"SELECT", strconv.Itoa(db)})
	}
	cmds = append(cmds, args)
	var reply any
	for _, cmd := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := io.WriteString(c, b.String()); err != nil {
			return nil, err
		}
		if reply, err = readReply(r); err != nil {
			return nil, fmt.Errorf("redis %s: %w", cmd[0], err)
		}
	}
	return reply, nil
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return arr, nil
	default:
		return nil, fmt.Errorf("unexpected reply %q", line)
	}
}
