package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time, e.g.
//
//	go build -trimpath -ldflags "-X main.version=1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.buildDate=$(date -u +%FT%TZ)"
//
// Unset, they come from the VCS stamp Go embeds in the binary
// (runtime/debug.ReadBuildInfo: vcs.revision, vcs.time, vcs.modified).
var (
	version   = ""
	commit    = ""
	buildDate = ""
)

// buildInfo is what `atrium version` prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// currentBuild merges the -ldflags overrides over the embedded build info.
func currentBuild() buildInfo {
	b := buildInfo{Version: "dev", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b = mergeBuildInfo(b, bi)
	}
	if version != "" {
		b.Version = version
	}
	if commit != "" {
		b.Commit = commit
	}
	if buildDate != "" {
		b.BuildDate = buildDate
	}
	return b
}

func mergeBuildInfo(b buildInfo, bi *debug.BuildInfo) buildInfo {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.BuildDate = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b buildInfo) String() string {
	c := b.Commit
	if c == "" {
		c = "unknown"
	}
	if b.Modified {
		c += " (modified)"
	}
	d := b.BuildDate
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("atrium %s\n  commit: %s\n  built:  %s\n  go:     %s %s\n", b.Version, c, d, b.GoVersion, b.Platform)
}

// runVersion: atrium version [--json] (also: atrium --version).
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseKeysFlags(fs, args); !ok {
		return code
	}
	b := currentBuild()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(b)
		return exitOK
	}
	fmt.Fprint(stdout, b.String())
	return exitOK
}
