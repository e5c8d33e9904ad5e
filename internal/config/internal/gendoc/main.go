// Command gendoc writes the table of ATRIUM_* variables (internal/config.Vars)
// into docs/configuration.md between its markers.
package main

import (
	"fmt"
	"os"

	"atrium/internal/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc docs/configuration.md")
		os.Exit(2)
	}
	doc, err := os.ReadFile(os.Args[1])
	if err == nil {
		var out string
		if out, err = config.ReplaceTable(string(doc)); err == nil {
			err = os.WriteFile(os.Args[1], []byte(out), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
