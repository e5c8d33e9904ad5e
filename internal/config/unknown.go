package config

import (
	"fmt"
	"sort"
	"strings"
)

// Unknown returns a warning for every ATRIUM_* variable in environ (as
// os.Environ gives it) that Atrium does not read, with the nearest known
// name when one is close: a misspelt variable otherwise silently keeps its
// default. ATRIUM_TEST_* belongs to the tests and CI and is skipped.
func Unknown(environ []string) []string {
	known := map[string]bool{}
	for _, v := range Vars {
		known[v.Name] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ATRIUM_") || strings.HasPrefix(name, "ATRIUM_TEST_") || known[name] {
			continue
		}
		msg := fmt.Sprintf("unknown variable %s is ignored", name)
		if s := suggest(name); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		out = append(out, msg)
	}
	sort.Strings(out)
	return out
}

// suggest returns the known name nearest to name, if it is near enough to
// be a typo: at most 3 edits, and fewer than a third of the name's length.
func suggest(name string) string {
	best, bestD := "", 4
	for _, v := range Vars {
		d := distance(strings.TrimPrefix(name, "ATRIUM_"), strings.TrimPrefix(v.Name, "ATRIUM_"))
		if d < bestD && d*3 < len(name)-len("ATRIUM_") {
			best, bestD = v.Name, d
		}
	}
	return best
}

// distance is the optimal-string-alignment (restricted Damerau-Levenshtein)
// distance: insertions, deletions, substitutions and transpositions of
// neighbours each cost 1.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
