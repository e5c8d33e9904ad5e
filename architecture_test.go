package atrium_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// packageRow is a row of docs/architecture.md's package table: its first
// cell is the package's directory in backquotes ("`.` (`atrium`)" for the
// root, "`ent/...`" for every package under ent/ without a row of its own).
var packageRow = regexp.MustCompile("^\\| `([^`]+)`")

// documentedPackages reads the package table of docs/architecture.md.
func documentedPackages(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("docs/architecture.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "\n## Packages\n")
	require.True(t, ok, "docs/architecture.md has no Packages section")
	var rows []string
	inTable := false
	for line := range strings.SplitSeq(rest, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		if m := packageRow.FindStringSubmatch(line); m != nil {
			rows = append(rows, m[1])
		}
	}
	require.NotEmpty(t, rows, "docs/architecture.md's package table is empty")
	return rows
}

// modulePackages returns the directory of every package of the module, as
// `go list ./...` finds them: directories holding a .go file (test-only
// packages included),
// skipping testdata, hidden and _-prefixed directories and nested modules.
func modulePackages(t *testing.T) []string {
	t.Helper()
	var pkgs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules") {
			return filepath.SkipDir
		}
		if path != "." {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
				pkgs = append(pkgs, filepath.ToSlash(path))
				break
			}
		}
		return nil
	})
	require.NoError(t, err)
	return pkgs
}

// TestArchitecturePackageTable keeps docs/architecture.md's package table
// equal to the module's packages: every package has a row and every row
// names a package.
func TestArchitecturePackageTable(t *testing.T) {
	t.Parallel()
	rows := documentedPackages(t)
	pkgs := modulePackages(t)

	var exact, trees []string
	for _, r := range rows {
		if tree, ok := strings.CutSuffix(r, "/..."); ok {
			trees = append(trees, tree)
		} else {
			exact = append(exact, r)
		}
	}
	covered := func(p string) bool {
		if slices.Contains(exact, p) {
			return true
		}
		for _, tree := range trees {
			if p == tree || strings.HasPrefix(p, tree+"/") {
				return true
			}
		}
		return false
	}

	var missing []string
	for _, p := range pkgs {
		if !covered(p) {
			missing = append(missing, p)
		}
	}
	require.Empty(t, missing, "packages without a row in docs/architecture.md's package table")

	var stale []string
	for _, r := range exact {
		if !slices.Contains(pkgs, r) {
			stale = append(stale, r)
		}
	}
	for _, tree := range trees {
		if !slices.ContainsFunc(pkgs, func(p string) bool {
			return (p == tree || strings.HasPrefix(p, tree+"/")) && !slices.Contains(exact, p)
		}) {
			stale = append(stale, tree+"/...")
		}
	}
	require.Empty(t, stale, "rows of docs/architecture.md's package table that name no package")

	dup := slices.Clone(rows)
	slices.Sort(dup)
	require.Len(t, slices.Compact(dup), len(rows), "a package has two rows")
}

// TestCheckedRefVouchedOnlyByAccess keeps viewer.WithCheckedRef, which lets
// a new row's reference skip its tenant lookup (policy.RefInTenant), in the
// hands of authz.Access.RequireRef, which vouches only for what its access
// check has just found in the viewer's tenant. Tests may call it.
func TestCheckedRefVouchedOnlyByAccess(t *testing.T) {
	allowed := map[string]bool{"internal/viewer/viewer.go": true, "internal/authz/access.go": true}
	var callers []string
	for _, pkg := range modulePackages(t) {
		entries, err := os.ReadDir(pkg)
		require.NoError(t, err)
		for _, e := range entries {
			name := filepath.ToSlash(filepath.Join(pkg, e.Name()))
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || allowed[name] {
				continue
			}
			b, err := os.ReadFile(name)
			require.NoError(t, err)
			if strings.Contains(string(b), "WithCheckedRef(") {
				callers = append(callers, name)
			}
		}
	}
	require.Empty(t, callers, "only authz.Access.RequireRef may vouch for a reference")
}
