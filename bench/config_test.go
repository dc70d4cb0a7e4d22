package bench_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/internal/sysstat"
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
	yamlFile := writeTemp(t, "suite.yaml", exampleYAML)
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

// Past the machine's memory or the bounds, a configuration is an error naming the setting
// (a FieldError), before anything runs: 1e11 rows used to crash a cell's child process.
func TestValidateBounds(t *testing.T) {
	base := func() bench.Config {
		c, _ := bench.Suite("quick")
		return c
	}
	huge := int(sysstat.MemoryLimit()/8) + 1 // rows of one column that do not fit
	tests := []struct {
		name   string
		change func(*bench.Config)
		field  string
		msg    string
	}{
		{"rows", func(c *bench.Config) { c.Sizes = []int{1000, 100_000_000_000} }, "dataset_sizes x feature_dimensions", "100000000000 rows x 10 columns: the data alone needs 7.3 TiB"},
		{"rows one column", func(c *bench.Config) { c.Sizes, c.Dims = []int{huge}, []int{1} }, "dataset_sizes x feature_dimensions", "more than the"},
		{"columns", func(c *bench.Config) { c.Dims = []int{1 << 40} }, "dataset_sizes x feature_dimensions", "x 1099511627776 columns"},
		{"product overflows int64", func(c *bench.Config) { c.Sizes, c.Dims = []int{1 << 40}, []int{1 << 40} }, "dataset_sizes x feature_dimensions", "the data alone needs"},
		{"size", func(c *bench.Config) { c.Sizes = []int{1} }, "dataset_sizes", "dataset size 1: must be at least 2"},
		{"iterations", func(c *bench.Config) { c.Iterations = bench.MaxIterations + 1 }, "iterations", "must be from 1 to 100000"},
		{"warm-up", func(c *bench.Config) { c.Warmup = bench.MaxIterations + 1 }, "warmup_iterations", "must be from 0 to 100000"},
		{"timeout", func(c *bench.Config) { c.TimeoutSeconds = 1e300 }, "timeout_seconds", "at most 168h0m0s"},
		{"timeout NaN", func(c *bench.Config) { c.TimeoutSeconds = math.NaN() }, "timeout_seconds", "must be at least 0.001"},
		{"timeout under a millisecond", func(c *bench.Config) { c.TimeoutSeconds = 1e-300 }, "timeout_seconds", "must be at least 0.001"},
		{"workers", func(c *bench.Config) { c.Workers = bench.MaxWorkers + 1 }, "max_workers", "must be from 0 to 256"},
	}
	for _, tc := range tests {
		c := base()
		tc.change(&c)
		err := c.Validate()
		var fe *bench.FieldError
		if !errors.Is(err, bench.ErrConfig) || !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v (field %+v), want a FieldError of %s saying %q", tc.name, err, fe, tc.field, tc.msg)
		}
	}
	c := base()
	c.Sizes, c.Dims, c.Iterations, c.Warmup, c.Workers = []int{2, 1_000_000}, []int{1, 100}, bench.MaxIterations, bench.MaxIterations, bench.MaxWorkers
	c.TimeoutSeconds = bench.MaxTimeout.Seconds()
	if err := c.Validate(); err != nil {
		t.Errorf("the bounds themselves: %v", err)
	}
	// A dataset file's size is its own: Sizes and Dims are not checked.
	c = base()
	c.Dataset, c.Sizes = "data.csv", []int{100_000_000_000}
	if err := c.Validate(); err != nil {
		t.Errorf("with a dataset file: %v", err)
	}
}

// exampleYAML is the configuration file of the documentation's example.
const exampleYAML = `
suite: standard
name: nightly
dataset_sizes: [1000, 2000]
algorithms:
  - isolation_forest
  - name: knn
    parameters: {n_neighbors: 7}
iterations: 4
timeout_seconds: 30
`

// checkFieldError fails the test unless err is a configuration error (bench.ErrConfig) of
// the field named; what says which check gave err.
func checkFieldError(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *bench.FieldError
	if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, bench.ErrConfig) {
		t.Errorf("%s: %v, want a FieldError of %s", what, err, field)
	}
}

func TestScalabilityAndMemoryBounds(t *testing.T) {
	checkBounds(t, "scalability", bench.DefaultScalability, []boundCase[bench.ScalabilityConfig]{
		{func(c *bench.ScalabilityConfig) { c.MaxSize = 100_000_000_000 }, "max_size x feature_dimensions"},
		{func(c *bench.ScalabilityConfig) { c.Steps = bench.MaxSteps + 1 }, "steps"},
		{func(c *bench.ScalabilityConfig) { c.Iterations = 0 }, "iterations"},
		{func(c *bench.ScalabilityConfig) { c.TimeoutSeconds = 1e12 }, "timeout_seconds"},
	})
	checkBounds(t, "memory", bench.DefaultMemory, []boundCase[bench.MemoryConfig]{
		{func(c *bench.MemoryConfig) { c.MaxMemoryMB = float64(sysstat.MemoryLimit()>>20) + 1 }, "max_memory_mb"},
		{func(c *bench.MemoryConfig) { c.MaxMemoryMB = math.Inf(1) }, "max_memory_mb"},
		{func(c *bench.MemoryConfig) { c.BaseSize, c.MaxMemoryMB = 10_000_000, 64 }, "base_size x feature_dimensions x max_memory_mb"},
		{func(c *bench.MemoryConfig) { c.MaxSteps = bench.MaxSteps + 1 }, "max_steps"},
		{func(c *bench.MemoryConfig) { c.TimeoutSeconds = -1 }, "timeout_seconds"},
	})
}

// boundCase is a change to a configuration that breaks the bound of field.
type boundCase[C any] struct {
	change func(*C)
	field  string
}

// checkBounds checks that the defaults of hbos (def) are within CheckBounds and that each
// case's change is a FieldError of its field; what names the kind of configuration.
func checkBounds[C any, P interface {
	*C
	CheckBounds() error
}](t *testing.T, what string, def func(string) C, cases []boundCase[C]) {
	t.Helper()
	d := def("hbos")
	if err := P(&d).CheckBounds(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	for _, tc := range cases {
		c := def("hbos")
		tc.change(&c)
		checkFieldError(t, what, P(&c).CheckBounds(), tc.field)
	}
}

// The library's Validate checks the machine's bounds too, not only the CLI: a scalability
// run of 1e11 rows or a billion steps, a memory test past the machine's memory.
func TestValidateChecksMachineBounds(t *testing.T) {
	s := bench.DefaultScalability("hbos")
	s.MaxSize = 100_000_000_000
	if err := s.Validate(); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "needs") {
		t.Errorf("scalability of 1e11 rows: %v", err)
	}
	s = bench.DefaultScalability("hbos")
	s.Steps = 1 << 40
	if err := s.Validate(); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "steps") {
		t.Errorf("scalability of 2^40 steps: %v", err)
	}
	m := bench.DefaultMemory("hbos")
	m.MaxMemoryMB = 1 << 40
	if err := m.Validate(); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "may use") {
		t.Errorf("memory test with a 1 EiB budget: %v", err)
	}
}

// A configuration file is read up to MaxConfigBytes: a larger file is an error, not all of
// the machine's memory; only a regular file is read (a FIFO would wait for a writer, /dev/zero
// never ends); and a feature dimension past MaxDims is refused whatever the rows.
func TestConfigFileAndDimsAreBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 100<<20); err != nil { // sparse: 100 MiB of zeros on no disk
		t.Fatal(err)
	}
	if _, err := bench.LoadConfig(big, ""); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "KiB") {
		t.Errorf("config of 100 MiB: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", fifo, dir} {
		if _, err := bench.LoadConfig(path, ""); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("config %s: %v", path, err)
		}
	}
	c, _ := bench.Suite("quick")
	c.Sizes, c.Dims = []int{10}, []int{10_000_000}
	if err := c.Validate(); !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), "columns") {
		t.Errorf("10 rows x 1e7 columns: %v", err)
	}
}
