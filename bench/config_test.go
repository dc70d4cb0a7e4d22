package bench_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSuitesValidate(t *testing.T) {
	for _, name := range bench.Suites {
		c, err := bench.Suite(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("suite %s does not validate: %v", name, err)
		}
		if c.Suite != name || c.Name != name || c.Iterations < 1 || len(c.Algorithms) == 0 {
			t.Errorf("suite %s: %+v", name, c)
		}
	}
	_, err := bench.Suite("huge")
	if !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "valid: quick, standard, comprehensive") {
		t.Errorf("unknown suite: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	yamlFile := writeTemp(t, "suite.yaml", `
suite: standard
name: nightly
dataset_sizes: [1000, 2000]
algorithms:
  - isolation_forest
  - name: knn
    parameters: {n_neighbors: 7}
iterations: 4
timeout_seconds: 30
`)
	jsonFile := writeTemp(t, "suite.json", `{"name": "nightly", "dataset_sizes": [1000, 2000],
 "algorithms": ["isolation_forest", {"name": "knn", "parameters": {"n_neighbors": 7}}],
 "iterations": 4, "timeout_seconds": 30}`)
	for _, tc := range []struct {
		path, suite string
		wantSuite   string
		wantDims    []int
	}{
		{yamlFile, "", "standard", []int{10, 20, 50}}, // the file's suite
		{yamlFile, "quick", "quick", []int{10}},       // the caller's suite wins
		{jsonFile, "", "quick", []int{10}},            // no suite named: quick
	} {
		c, err := bench.LoadConfig(tc.path, tc.suite)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if c.Suite != tc.wantSuite || c.Name != "nightly" || !reflect.DeepEqual(c.Dims, tc.wantDims) {
			t.Errorf("%s over %q: suite %q name %q dims %v", filepath.Base(tc.path), tc.suite, c.Suite, c.Name, c.Dims)
		}
		if !reflect.DeepEqual(c.Sizes, []int{1000, 2000}) || c.Iterations != 4 || c.TimeoutSeconds != 30 {
			t.Errorf("%s: sizes %v iterations %d timeout %v", tc.path, c.Sizes, c.Iterations, c.TimeoutSeconds)
		}
		if len(c.Algorithms) != 2 || c.Algorithms[0].Name != "isolation_forest" || c.Algorithms[1].Name != "knn" {
			t.Fatalf("%s: algorithms %+v", tc.path, c.Algorithms)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", tc.path, err)
		}
	}
	for _, bad := range []struct{ name, content, msg string }{
		{"typo.yaml", "iteratons: 3\n", "field iteratons not found"},
		{"typo.json", `{"iteratons": 3}`, `unknown field "iteratons"`},
		{"param.yaml", "algorithms: [{name: knn, params: {k: 1}}]\n", "field params not found"},
		{"suite.yaml", "suite: huge\n", "valid: quick, standard, comprehensive"},
	} {
		_, err := bench.LoadConfig(writeTemp(t, bad.name, bad.content), "")
		if err == nil || !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%s: error %v, want one saying %q", bad.name, err, bad.msg)
		}
	}
	if _, err := bench.LoadConfig(filepath.Join(t.TempDir(), "none.yaml"), ""); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestValidateErrors(t *testing.T) {
	base := func() bench.Config {
		c, _ := bench.Suite("quick")
		return c
	}
	tests := []struct {
		name   string
		change func(*bench.Config)
		msg    string
	}{
		{"no algorithms", func(c *bench.Config) { c.Algorithms = nil }, "valid: ecod, hbos, isolation_forest, knn, local_outlier_factor, one_class_svm"},
		{"unknown algorithm", func(c *bench.Config) { c.Algorithms = []bench.Algorithm{{Name: "forest"}} }, "valid: ecod, hbos"},
		{"bad parameter", func(c *bench.Config) {
			c.Algorithms = []bench.Algorithm{{Name: "knn", Params: map[string]any{"k": 3}}}
		}, "valid: n_neighbors, method"},
		{"parameter range", func(c *bench.Config) {
			c.Algorithms = []bench.Algorithm{{Name: "knn", Params: map[string]any{"n_neighbors": 0}}}
		}, "out of range"},
		{"twice", func(c *bench.Config) { c.Algorithms = append(c.Algorithms, c.Algorithms[0]) }, "listed twice"},
		{"contamination", func(c *bench.Config) { c.Contamination = []float64{0.7} }, "must be in (0, 0.5]"},
		{"size", func(c *bench.Config) { c.Sizes = []int{1} }, "at least 2"},
		{"size twice", func(c *bench.Config) { c.Sizes = []int{100, 100} }, "listed twice"},
		{"dims", func(c *bench.Config) { c.Dims = []int{0} }, "at least 1"},
		{"iterations", func(c *bench.Config) { c.Iterations = 0 }, "iterations 0"},
		{"warmup", func(c *bench.Config) { c.Warmup = -1 }, "warm-up"},
		{"timeout", func(c *bench.Config) { c.TimeoutSeconds = 0 }, "timeout"},
		{"label without file", func(c *bench.Config) { c.Label = "y" }, "needs a dataset file"},
		{"profile dir", func(c *bench.Config) { c.CPUProfiling = true }, "profile directory"},
	}
	for _, tc := range tests {
		c := base()
		tc.change(&c)
		err := c.Validate()
		if !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want an ErrConfig saying %q", tc.name, err, tc.msg)
		}
	}
}

func TestDecodeFileKeepsUnsetFields(t *testing.T) {
	c := bench.DefaultMemory("hbos")
	if err := bench.DecodeFile(writeTemp(t, "m.yaml", "max_memory_mb: 256\nstep_multiplier: 2\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.MaxMemoryMB != 256 || c.StepMultiplier != 2 || c.Algorithm.Name != "hbos" || c.BaseSize != 1000 {
		t.Errorf("decoded %+v", c)
	}
	if err := bench.DecodeFile(writeTemp(t, "empty.yaml", ""), &c); err != nil {
		t.Errorf("empty file: %v", err)
	}
}
