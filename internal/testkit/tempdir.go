package testkit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile names the test binary owning a throwaway server's temp dir.
const ownerFile = "testkit-owner.pid"

// ownedTempDir creates a temp dir recording this process as its owner, so a
// later test binary can remove it if this one dies before Main cleans up (a
// panic, a timeout, a test package without TestMain).
func ownedTempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sweepTempDirs removes the temp dirs of throwaway servers whose owning test
// binary is gone (its servers died with it: they get a parent-death signal).
func sweepTempDirs(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			// No owner recorded: remove only when clearly abandoned.
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 6*time.Hour {
				os.RemoveAll(d)
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || err == syscall.EPERM {
			continue // owner alive
		}
		os.RemoveAll(d)
	}
}
