package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Proc is a group of processes whose CPU is summed: fixed PIDs, or
// every process of a command name, looked up again at each snapshot so
// that PostgreSQL backends started during the window count.
type Proc struct {
	Name string
	PIDs []int
	Comm string // if set, PIDs are looked up by this command name
}

func (p Proc) pids() []int {
	if p.Comm != "" {
		return byName(p.Comm)
	}
	return p.PIDs
}

// cpuTicks returns utime+stime of pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it start
	// after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return u + s, nil
}

// rssBytes returns the resident set size of pid.
func rssBytes(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// byName returns the processes whose command name is name.
func byName(name string) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/comm")
		if err != nil || strings.TrimSpace(string(b)) != name {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// listener returns the process listening on TCP port, or 0: the socket's
// inode from /proc/net/tcp{,6}, then the process holding it open.
func listener(port int) int {
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A = LISTEN
				continue
			}
			if _, hex, ok := strings.Cut(f[1], ":"); ok {
				if p, err := strconv.ParseInt(hex, 16, 32); err == nil && int(p) == port {
					inodes["socket:["+f[9]+"]"] = true
				}
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && inodes[l] {
			pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
			return pid
		}
	}
	return 0
}

// Usage is the CPU a group of processes used in a window.
type Usage struct {
	Name         string  `json:"name"`
	PIDs         []int   `json:"pids"`
	CoresPercent float64 `json:"cpu_percent_of_one_core"`
	MachineShare float64 `json:"cpu_percent_of_machine"`
	RSSBytes     int64   `json:"rss_bytes"`
}

// Meter snapshots CPU time of process groups.
type Meter struct {
	procs []Proc
	t0    time.Time
	ticks []map[int]int64
}

// NewMeter watches procs.
func NewMeter(procs []Proc) *Meter { return &Meter{procs: procs} }

func snapshot(pids []int) map[int]int64 {
	m := make(map[int]int64, len(pids))
	for _, pid := range pids {
		if t, err := cpuTicks(pid); err == nil {
			m[pid] = t
		}
	}
	return m
}

// Start opens the window.
func (m *Meter) Start() {
	m.t0 = time.Now()
	m.ticks = make([]map[int]int64, len(m.procs))
	for i, p := range m.procs {
		m.ticks[i] = snapshot(p.pids())
	}
}

// Stop closes the window and reports each group's usage. A process that
// started during the window counts whole; the CPU of one that exited during
// it is lost (the kernel keeps no record of it for us).
func (m *Meter) Stop() []Usage {
	el := time.Since(m.t0).Seconds()
	out := make([]Usage, len(m.procs))
	for i, p := range m.procs {
		now := snapshot(p.pids())
		var d int64
		u := Usage{Name: p.Name}
		for pid, t := range now {
			d += t - m.ticks[i][pid]
			u.PIDs = append(u.PIDs, pid)
			u.RSSBytes += rssBytes(pid)
		}
		slices.Sort(u.PIDs)
		if el > 0 {
			u.CoresPercent = 100 * float64(d) / clockTicks / el
			u.MachineShare = u.CoresPercent / float64(runtime.NumCPU())
		}
		out[i] = u
	}
	return out
}
