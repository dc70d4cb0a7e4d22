package bench_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gonomaly/gonomaly/bench"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

// fuzzSuites are the suite arguments FuzzBenchConfig passes to LoadConfig: the file's own,
// each preset, and an unknown one.
var fuzzSuites = []string{"", "quick", "standard", "comprehensive", "huge"}

// FuzzBenchConfig checks that any file, read as YAML or as JSON over any preset, loads to a
// configuration or fails with an error wrapping ErrConfig, never a panic; that Validate of
// what loads does the same; and that a valid configuration has no negative time limit and,
// written as JSON, loads back the same.
func FuzzBenchConfig(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzBenchConfig (see TestFuzzCorpus).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte, asJSON bool, suite uint8) {
		path := filepath.Join(dir, "suite.yaml")
		if asJSON {
			path = filepath.Join(dir, "suite.json")
		}
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := bench.LoadConfig(path, fuzzSuites[int(suite)%len(fuzzSuites)])
		if err != nil {
			if !errors.Is(err, bench.ErrConfig) {
				t.Fatalf("load error %v does not wrap ErrConfig", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			if !errors.Is(err, bench.ErrConfig) {
				t.Fatalf("Validate error %v does not wrap ErrConfig", err)
			}
			return
		}
		// Not <= 0: Validate takes any positive timeout_seconds, and one under a nanosecond
		// rounds to a zero time limit (every cell times out at once).
		if c.Timeout() < 0 {
			t.Fatalf("valid configuration with timeout %v s gives a time limit of %v", c.TimeoutSeconds, c.Timeout())
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("valid configuration %+v does not encode: %v", c, err)
		}
		back := filepath.Join(dir, "back.json")
		if err := os.WriteFile(back, out, 0o644); err != nil {
			t.Fatal(err)
		}
		// Decoded over a zero Config, not a preset: the fields omitempty leaves out are zero
		// on both sides.
		var c2 bench.Config
		if err := bench.DecodeFile(back, &c2); err != nil {
			t.Fatalf("%s does not load back: %v", out, err)
		}
		if out2, _ := json.Marshal(c2); !bytes.Equal(out, out2) {
			t.Fatalf("written as %s, loads back as %s", out, out2)
		}
	})
}

// configSeed is one input of FuzzBenchConfig.
type configSeed struct {
	name   string
	in     string
	asJSON bool
	suite  uint8 // index in fuzzSuites
}

// configSeeds are the presets written out, the examples of the tests and documentation, and
// hostile files: wrong types, huge numbers, alias bombs, deep nesting.
func configSeeds(t testing.TB) []configSeed {
	seeds := []configSeed{
		{"example-yaml", exampleYAML, false, 0},
		{"example-json", `{"name": "nightly", "dataset_sizes": [1000, 2000],
 "algorithms": ["isolation_forest", {"name": "knn", "parameters": {"n_neighbors": 7}}],
 "iterations": 4, "timeout_seconds": 30}`, true, 0},
		{"dataset-file", "dataset: data.csv\nlabel: label\nalgorithms: [hbos, ecod]\n", false, 1},
		{"empty-yaml", "", false, 0},
		{"empty-json", "", true, 0},
		{"null", "null", true, 2},
		{"typo-yaml", "iteratons: 3\n", false, 0},
		{"typo-json", `{"iteratons": 3}`, true, 0},
		{"params-typo", "algorithms: [{name: knn, params: {k: 1}}]\n", false, 0},
		{"unknown-suite", "suite: huge\n", false, 0},
		{"unknown-suite-arg", "name: x\n", false, 4},
		{"wrong-types", `{"dataset_sizes": "many", "iterations": 1.5, "seed": -1}`, true, 1},
		{"huge-numbers", "dataset_sizes: [9223372036854775807]\nfeature_dimensions: [9223372036854775807]\niterations: 9223372036854775807\n", false, 1},
		{"special-floats", "timeout_seconds: .inf\ncontamination_rates: [.nan]\n", false, 1},
		{"infinite-timeout", "timeout_seconds: .inf\n", false, 1},
		{"huge-timeout", "timeout_seconds: 1e300\n", false, 1},
		{"tiny-timeout", "timeout_seconds: 1e-300\n", false, 1},
		{"negative", "warmup_iterations: -1\nmax_workers: -3\ndataset_sizes: [-5]\n", false, 1},
		{"duplicates", "algorithms: [knn, knn]\ndataset_sizes: [10, 10]\n", false, 1},
		{"duplicate-key", "name: a\nname: b\n", false, 1},
		{"bad-param", "algorithms: [{name: hbos, parameters: {n_bins: 1}}]\n", false, 1},
		{"param-types", "algorithms: [{name: knn, parameters: {n_neighbors: [1], method: {x: 1}}}]\n", false, 1},
		{"cpu-profile", "enable_cpu_profiling: true\nparallel_execution: true\nisolate: false\nprofile_dir: p\n", false, 1},
		{"multi-document", "name: a\n---\nname: b\n", false, 1},
		{"tabs", "name:\tx\n\titerations: 3\n", false, 1},
		{"binary-tag", "name: !!binary aGVsbG8=\n", false, 1},
		{"timestamp", "name: 2001-12-14t21:59:43.10-05:00\nseed: 0x10\n", false, 1},
		{"json-trailing", `{"name": "a"} {"name": "b"}`, true, 1},
		{"json-bom", "\ufeff{\"name\": \"a\"}", true, 1},
		{"alias-bomb", aliasBomb(), false, 1},
		{"deep-nesting", deep(200), false, 1},
		{"yaml-as-json", "name: a\n", true, 1},
		{"json-as-yaml", `{"name": "a", "iterations": 2}`, false, 2},
	}
	for i, name := range bench.Suites {
		c, err := bench.Suite(name)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.MarshalIndent(c, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, configSeed{"preset-" + name + "-yaml", string(y), false, 0},
			configSeed{"preset-" + name + "-json", string(j), true, uint8(i + 1)})
	}
	return seeds
}

// aliasBomb is a "billion laughs" YAML document: each level names the previous one ten times.
func aliasBomb() string {
	var b bytes.Buffer
	b.WriteString("x0: &a0 [lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("name: *a8\n")
	return b.String()
}

// deep is an algorithm parameter nested n lists deep.
func deep(n int) string {
	return "algorithms: [{name: knn, parameters: {n_neighbors: " + string(bytes.Repeat([]byte("["), n)) +
		string(bytes.Repeat([]byte("]"), n)) + "}}]\n"
}

// TestFuzzCorpus rewrites testdata/fuzz/FuzzBenchConfig from configSeeds when run with
// -update-corpus; go test reads the files as seeds of FuzzBenchConfig.
func TestFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzBenchConfig")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range configSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\nuint8(%d)\n", s.in, s.asJSON, s.suite)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
