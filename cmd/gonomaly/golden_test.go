package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// update rewrites the golden files instead of comparing with them:
//
//	go test ./cmd/gonomaly -run TestGolden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or writes it there with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is meant):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ, by line number: enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// commandPaths lists every command a user can call, as the words after "gonomaly" (the root
// is the empty list), hidden ones left out.
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	paths := [][]string{prefix}
	for _, sub := range c.Commands() {
		if sub.Hidden {
			continue
		}
		paths = append(paths, commandPaths(sub, append(append([]string(nil), prefix...), sub.Name()))...)
	}
	return paths
}

// The help of every command and subcommand, as users read it.
func TestGoldenHelp(t *testing.T) {
	paths := commandPaths(newRoot(nil, nil), nil)
	if len(paths) < 9 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, p := range paths {
		name := strings.Join(append([]string{"gonomaly"}, p...), "_")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := gonomaly(t, append(p, "--help")...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden(t, filepath.Join("help", name+".txt"), stdout)
		})
	}
}

// seconds matches the timings of a JSON result, which change from run to run.
var seconds = regexp.MustCompile(`"(fit_seconds|score_seconds)":[-+0-9.eE]+`)

// detect --json on a labelled file with a fixed seed: every algorithm's result document, the
// timings masked.
func TestGoldenDetectJSON(t *testing.T) {
	for _, alg := range []string{"isolation_forest", "local_outlier_factor", "one_class_svm", "knn", "hbos", "ecod"} {
		t.Run(alg, func(t *testing.T) {
			code, stdout, stderr := gonomaly(t, "detect", "--algorithm", alg, "--input", wbc, "--label", "label", "--seed", "7", "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden(t, filepath.Join("detect", alg+".json"), seconds.ReplaceAllString(stdout, `"$1":"<masked>"`))
		})
	}
}
