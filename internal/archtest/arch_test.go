// Package archtest checks the package map of docs/architecture.md: which of our packages each
// package may import. It asks `go list` for the imports of every package of the module (not
// their tests), so a new import against the rule fails here.
package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gonomaly/gonomaly"

// allowed lists, for each package (a prefix covers its sub-packages), the packages of ours it
// may import besides internal/* and its own sub-packages. A package not listed may import any
// of ours except server and cmd.
var allowed = map[string][]string{
	"dataset":  {},
	"stat":     {},
	"detector": {"dataset", "stat"},
	"eval":     {"dataset", "stat"},
	"cache":    {},
	"optimize": {"cache"},
	"store":    {"detector", "dataset"},
	"serving":  {"detector", "dataset", "store", "cache", "optimize"},
	"bench":    {"detector", "dataset", "eval", "stat", "store"},
	"monitor":  {"store", "stat", "detector", "dataset"},
	"report":   {"bench", "detector", "monitor", "stat", "store"},
	"loadtest": {},
	"cluster":  {"serving", "bench", "detector", "dataset", "store", "cache", "optimize", "eval", "stat"},
}

// imports returns our packages (without the module prefix) and the packages of ours each
// imports directly.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/")
		var ours []string
		for _, imp := range f[1:] {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				ours = append(ours, rest)
			}
		}
		m[pkg] = ours
	}
	return m
}

// within reports whether pkg is p or one of its sub-packages.
func within(pkg, p string) bool { return pkg == p || strings.HasPrefix(pkg, p+"/") }

func TestPackageMap(t *testing.T) {
	all := imports(t)
	if len(all) < 10 {
		t.Fatalf("go list found %d packages: not run from the module?", len(all))
	}
	for pkg, imps := range all {
		for _, imp := range imps {
			if within(imp, "server") || within(imp, "cmd") {
				if !within(pkg, "server") && !within(pkg, "cmd") {
					t.Errorf("%s imports %s: nothing may import server or cmd", pkg, imp)
				}
				if within(pkg, "server") && within(imp, "cmd") {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
			if within(imp, "internal") {
				continue
			}
			for root, ok := range allowed {
				if !within(pkg, root) || within(imp, root) {
					continue
				}
				if !slices.ContainsFunc(ok, func(a string) bool { return within(imp, a) }) {
					t.Errorf("%s imports %s: %s may import only %v (and internal/*)", pkg, imp, root, ok)
				}
			}
		}
	}
}

// The checker itself: a package breaking the rule is reported.
func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		pkg, p string
		want   bool
	}{
		{"detector", "detector", true}, {"detector/iforest", "detector", true},
		{"detectors", "detector", false}, {"server", "serving", false}, {"cmd/gonomaly", "cmd", true},
	} {
		if got := within(tc.pkg, tc.p); got != tc.want {
			t.Errorf("within(%q, %q) = %v", tc.pkg, tc.p, got)
		}
	}
}
