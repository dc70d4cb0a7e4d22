package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/internal/fileconf"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// ErrConfig is wrapped by every configuration error, so callers can tell a bad configuration
// (a usage error) from a failure while running.
var ErrConfig = errors.New("bad benchmark configuration")

// Algorithm is one algorithm of a suite with its parameters (raw values as a config file or
// a command line gives them; detector.NewModel checks them). In a config file an entry is
// either a bare name or {name, parameters}.
type Algorithm struct {
	Name   string         `json:"name" yaml:"name"`
	Params map[string]any `json:"parameters,omitempty" yaml:"parameters,omitempty"`
}

// UnmarshalJSON accepts a bare name as well as {"name", "parameters"}.
func (a *Algorithm) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*a = Algorithm{Name: name}
		return nil
	}
	type plain Algorithm
	var p plain
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		return err
	}
	*a = Algorithm(p)
	return nil
}

// UnmarshalYAML accepts a bare name as well as {name, parameters}.
func (a *Algorithm) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*a = Algorithm{Name: n.Value}
		return nil
	}
	if n.Kind == yaml.MappingNode {
		// Node.Decode does not inherit the decoder's KnownFields: check the keys here.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "name" && k != "parameters" {
				return fmt.Errorf("line %d: field %s not found in an algorithm (valid: name, parameters)", n.Content[i].Line, k)
			}
		}
	}
	type plain Algorithm
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*a = Algorithm(p)
	return nil
}

// Config is a benchmark suite: what to run and how, everything the seed system's
// AdvancedBenchmarkConfig holds. Its zero value is not runnable; start from Suite and override.
//
// Every cell of Algorithms x Sizes x Dims x Contamination runs on seeded synthetic data
// (dataset.Synthetic), unless Dataset names a CSV file, in which case the cells are
// Algorithms x Contamination on that file and Sizes and Dims are ignored.
type Config struct {
	// Suite is the preset the configuration started from (quick, standard or comprehensive).
	Suite       string `json:"suite,omitempty" yaml:"suite,omitempty"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`

	Sizes         []int       `json:"dataset_sizes" yaml:"dataset_sizes"`
	Dims          []int       `json:"feature_dimensions" yaml:"feature_dimensions"`
	Contamination []float64   `json:"contamination_rates" yaml:"contamination_rates"`
	Algorithms    []Algorithm `json:"algorithms" yaml:"algorithms"`

	// Dataset, when set, is a CSV file to benchmark on instead of synthetic data; Label names
	// its 0/1 label column (accuracy is reported only with labels).
	Dataset string `json:"dataset,omitempty" yaml:"dataset,omitempty"`
	Label   string `json:"label,omitempty" yaml:"label,omitempty"`

	// Iterations are measured per cell, after Warmup iterations that are run and discarded.
	Iterations int `json:"iterations" yaml:"iterations"`
	Warmup     int `json:"warmup_iterations" yaml:"warmup_iterations"`
	// TimeoutSeconds bounds one cell (all its iterations); a cell past it is stopped and
	// reported with status "timeout".
	TimeoutSeconds float64 `json:"timeout_seconds" yaml:"timeout_seconds"`

	// MemoryProfiling samples the heap during fit and score and records peak RSS.
	MemoryProfiling bool `json:"enable_memory_profiling" yaml:"enable_memory_profiling"`
	// CPUProfiling writes a pprof CPU profile of each cell's measured iterations to ProfileDir.
	CPUProfiling bool   `json:"enable_cpu_profiling" yaml:"enable_cpu_profiling"`
	ProfileDir   string `json:"profile_dir,omitempty" yaml:"profile_dir,omitempty"`
	// Scalability fits the growth pattern of each algorithm's time over Sizes (at least three).
	Scalability bool `json:"enable_scalability_testing" yaml:"enable_scalability_testing"`
	// Parallel runs up to Workers cells at once (0 = 2). Concurrent cells share the CPUs, so
	// their times are not comparable with serial runs (and, unless cells are isolated, their
	// heap, RSS and CPU figures mix in one process); use it for accuracy sweeps.
	Parallel bool `json:"parallel_execution" yaml:"parallel_execution"`
	Workers  int  `json:"max_workers,omitempty" yaml:"max_workers,omitempty"`
	// Isolate runs each cell in a child process (see Options.Child), so its memory figures
	// hold nothing of other cells and a cell past its timeout is killed.
	Isolate bool `json:"isolate" yaml:"isolate"`

	Seed uint64 `json:"seed" yaml:"seed"`
}

// Suites are the names of the presets Suite knows.
var Suites = []string{"quick", "standard", "comprehensive"}

func algos(names ...string) []Algorithm {
	a := make([]Algorithm, len(names))
	for i, n := range names {
		a[i] = Algorithm{Name: n}
	}
	return a
}

// Suite returns the named preset. quick: two small sizes, one width, two fast algorithms,
// three iterations (under a minute); standard: the three algorithms of the seed system's
// example on four sizes and three widths; comprehensive: every algorithm, the seed's full
// grid of sizes, widths and contamination rates.
func Suite(name string) (Config, error) {
	c := Config{
		Suite: name, Name: name, Contamination: []float64{0.1}, Iterations: 3, Warmup: 1,
		TimeoutSeconds: 600, MemoryProfiling: true, Isolate: true,
	}
	switch name {
	case "quick":
		c.Description = "smoke test: small data, fast algorithms"
		c.Sizes, c.Dims = []int{1000, 5000}, []int{10}
		c.Algorithms = algos("isolation_forest", "hbos")
		c.TimeoutSeconds = 120
	case "standard":
		c.Description = "the seed system's example: three algorithms, four sizes, three widths"
		c.Sizes, c.Dims = []int{1000, 5000, 10000, 50000}, []int{10, 20, 50}
		c.Algorithms = algos("isolation_forest", "local_outlier_factor", "one_class_svm")
		c.Iterations, c.Warmup = 5, 2
		c.Scalability = true
	case "comprehensive":
		c.Description = "every algorithm over the seed system's full grid"
		c.Sizes, c.Dims = []int{1000, 5000, 10000, 50000}, []int{10, 20, 50, 100}
		c.Contamination = []float64{0.01, 0.05, 0.1, 0.2}
		c.Algorithms = algos(detector.Names()...)
		c.Iterations, c.Warmup = 5, 2
		c.Scalability = true
	default:
		return Config{}, fmt.Errorf("bench: suite %q: %w (valid: %s)", name, ErrConfig, strings.Join(Suites, ", "))
	}
	return c, nil
}

// LoadConfig reads a benchmark configuration file. It starts from a preset: suite when it is
// not empty, else the suite the file names (its "suite" field), else quick; the fields the
// file sets replace the preset's. See DecodeFile for the formats.
func LoadConfig(path, suite string) (Config, error) {
	if suite == "" {
		var peek struct {
			Suite string `json:"suite" yaml:"suite"`
		}
		if err := decodeFile(path, &peek, false); err != nil {
			return Config{}, err
		}
		suite = peek.Suite
		if suite == "" {
			suite = "quick"
		}
	}
	c, err := Suite(suite)
	if err != nil {
		return Config{}, fmt.Errorf("bench: config %s: %w", path, err)
	}
	if err := DecodeFile(path, &c); err != nil {
		return Config{}, err
	}
	c.Suite = suite
	return c, nil
}

// DecodeFile reads a configuration file into dst (a pointer to one of this package's config
// types) over the values dst already holds: fields the file sets replace them, lists
// included. A name ending in .json is read as JSON, anything else as YAML (field names as in
// the JSON). An unknown field is an error wrapping ErrConfig.
func DecodeFile(path string, dst any) error { return decodeFile(path, dst, true) }

// MaxConfigBytes bounds a configuration file: a suite's settings take a few KiB, and a file
// such as /dev/zero must fail rather than be read into memory.
const MaxConfigBytes = 1 << 20

// MaxDims bounds a benchmark's feature dimension, as the CSV reader bounds a file's columns.
const MaxDims = 100_000

func decodeFile(path string, dst any, strict bool) error {
	b, err := fileconf.ReadFile(path, MaxConfigBytes)
	switch {
	case errors.Is(err, fileconf.ErrTooLarge):
		return fmt.Errorf("bench: config %s: %w: over %d KiB; is this a configuration file?", path, ErrConfig, MaxConfigBytes>>10)
	case errors.Is(err, fileconf.ErrNotRegular):
		return fmt.Errorf("bench: config %s: %w: not a regular file", path, ErrConfig)
	case err != nil:
		return fmt.Errorf("bench: config: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		d := json.NewDecoder(bytes.NewReader(b))
		if strict {
			d.DisallowUnknownFields()
		}
		err = d.Decode(dst)
	} else {
		d := yaml.NewDecoder(bytes.NewReader(b))
		d.KnownFields(strict)
		if err = d.Decode(dst); errors.Is(err, io.EOF) {
			err = nil // an empty file sets nothing
		}
	}
	if err != nil {
		return fmt.Errorf("bench: config %s: %w: %v", path, ErrConfig, err)
	}
	return nil
}

// Timeout is TimeoutSeconds as a Duration (0 when unset).
func (c *Config) Timeout() time.Duration {
	return time.Duration(c.TimeoutSeconds * float64(time.Second))
}

// Bounds of a configuration: past them a run would not end in any useful time, or a count
// would size a buffer rather than configure anything.
const (
	MaxIterations = 100_000            // measured runs, and separately warm-up runs, per cell
	MaxWorkers    = 256                // cells at once
	MaxTimeout    = 7 * 24 * time.Hour // per cell (or per size, or per memory step)
	MaxSteps      = 10_000             // sizes of a scalability analysis, steps of a memory test
)

// FieldError is a configuration error in one setting. Field is the setting's name in a
// configuration file ("dataset_sizes", "iterations", ...), or the names of the settings
// whose values together are wrong joined by " x " ("dataset_sizes x feature_dimensions"), so
// a program that took them from flags can name the flags instead; Msg says what is wrong with
// which value. It wraps ErrConfig.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "bench: " + e.Msg + ": " + ErrConfig.Error() }
func (e *FieldError) Unwrap() error { return ErrConfig }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// checkData returns an error when rows x dims of float64 values would not fit in the memory
// this process may use (sysstat.MemoryLimit): such a cell cannot even make its data, whatever
// the algorithm. What the algorithm needs beyond the data is the detector's own budget check.
func checkData(field string, rows, dims int) error {
	need := float64(rows) * float64(dims) * 8
	if total := sysstat.MemoryLimit(); need > float64(total) {
		return fieldErr(field, "%d rows x %d columns: the data alone needs %s, more than the %s this process may use",
			rows, dims, sizeString(need), sizeString(float64(total)))
	}
	if dims > MaxDims {
		return fieldErr(field, "%d columns: at most %d", dims, MaxDims)
	}
	return nil
}

// checkTimeout checks a time limit in seconds: at least a millisecond (a smaller one would
// round to no time at all) and at most MaxTimeout.
func checkTimeout(seconds float64) error {
	if !(seconds >= 1e-3) || seconds > MaxTimeout.Seconds() {
		return fieldErr("timeout_seconds", "timeout %v s: must be at least 0.001 and at most %v", seconds, MaxTimeout)
	}
	return nil
}

// checkIterations checks measured and warm-up run counts.
func checkIterations(iterations, warmup int) error {
	if iterations < 1 || iterations > MaxIterations {
		return fieldErr("iterations", "iterations %d: must be from 1 to %d", iterations, MaxIterations)
	}
	if warmup < 0 || warmup > MaxIterations {
		return fieldErr("warmup_iterations", "warm-up iterations %d: must be from 0 to %d", warmup, MaxIterations)
	}
	return nil
}

// sizeString writes a byte count rounded to a binary unit.
func sizeString(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// CheckBounds checks what Validate leaves to the machine: that the largest size's data fits
// in the memory this process may use, and that the counts and the time limit are within
// MaxSteps, MaxIterations and MaxTimeout. Call it before Validate, which lists the sizes (a
// step count of billions would take that long). Errors are FieldErrors.
func (c *ScalabilityConfig) CheckBounds() error {
	if c.Steps > MaxSteps {
		return fieldErr("steps", "%d steps: must be at most %d", c.Steps, MaxSteps)
	}
	if c.MaxSize > 0 && c.Dims > 0 {
		if err := checkData("max_size x feature_dimensions", c.MaxSize, c.Dims); err != nil {
			return err
		}
	}
	if err := checkIterations(c.Iterations, c.Warmup); err != nil {
		return err
	}
	return checkTimeout(c.TimeoutSeconds)
}

// CheckBounds checks what Validate leaves to the machine: that the budget is no more than
// the memory this process may use (a test aiming past it would leave the machine short of
// memory before the budget stops it), that the first step's data fits in the budget, and
// that the step count and the time limit are within MaxSteps and MaxTimeout. Errors are
// FieldErrors.
func (c *MemoryConfig) CheckBounds() error {
	if err := c.machineBounds(); err != nil {
		return err
	}
	if c.BaseSize > 0 && c.Dims > 0 && c.MaxMemoryMB > 0 {
		if need := float64(c.BaseSize) * float64(c.Dims) * 8; need > c.MaxMemoryMB*(1<<20) {
			return fieldErr("base_size x feature_dimensions x max_memory_mb", "%d rows x %d columns: the first step's data alone needs %s, more than the budget of %v MiB",
				c.BaseSize, c.Dims, sizeString(need), c.MaxMemoryMB)
		}
	}
	return nil
}

// machineBounds is CheckBounds without the first step's check, which Validate leaves to the
// callers: a test may mean its first step to pass the budget.
func (c *MemoryConfig) machineBounds() error {
	total := sysstat.MemoryLimit()
	if budget := c.MaxMemoryMB * (1 << 20); budget > float64(total) {
		return fieldErr("max_memory_mb", "budget %v MiB: must be at most the %d MiB this process may use", c.MaxMemoryMB, total>>20)
	}
	if c.MaxSteps > MaxSteps {
		return fieldErr("max_steps", "max steps %d: must be at most %d (0 = 60)", c.MaxSteps, MaxSteps)
	}
	return checkTimeout(c.TimeoutSeconds)
}

// Validate checks the configuration and builds every algorithm's model once, so a bad name
// or parameter is reported before anything runs. Errors wrap ErrConfig and list valid values;
// those of one setting are FieldErrors. The largest dataset size times the largest feature
// dimension, in float64 values, must fit in the memory this process may use
// (sysstat.MemoryLimit).
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	if len(c.Algorithms) == 0 {
		return bad("no algorithms (valid: %s)", strings.Join(detector.Names(), ", "))
	}
	seen := map[string]bool{}
	for _, a := range c.Algorithms {
		if _, err := detector.Lookup(a.Name); err != nil {
			return fmt.Errorf("bench: algorithm: %w: %w", ErrConfig, err)
		}
		if seen[a.Name] {
			return bad("algorithm %s listed twice (compare parameter sets in separate runs)", a.Name)
		}
		seen[a.Name] = true
	}
	if len(c.Contamination) == 0 {
		return bad("no contamination rates (each in (0, 0.5])")
	}
	for _, r := range c.Contamination {
		if !(r > 0 && r <= 0.5) {
			return bad("contamination rate %v: must be in (0, 0.5]", r)
		}
	}
	for _, a := range c.Algorithms {
		if _, err := newModel(a, c.Contamination[0], c.Seed); err != nil {
			return fmt.Errorf("bench: %w: %w", ErrConfig, err)
		}
	}
	if c.Dataset == "" {
		if c.Label != "" {
			return bad("a label column (%q) needs a dataset file", c.Label)
		}
		if len(c.Sizes) == 0 || len(c.Dims) == 0 {
			return bad("no dataset sizes or feature dimensions (or give a dataset file)")
		}
		if dup := firstDuplicate(c.Sizes); dup != 0 {
			return fieldErr("dataset_sizes", "dataset size %d listed twice", dup)
		}
		if dup := firstDuplicate(c.Dims); dup != 0 {
			return fieldErr("feature_dimensions", "feature dimension %d listed twice", dup)
		}
		for _, n := range c.Sizes {
			if n < 2 {
				return fieldErr("dataset_sizes", "dataset size %d: must be at least 2", n)
			}
		}
		for _, d := range c.Dims {
			if d < 1 {
				return fieldErr("feature_dimensions", "feature dimension %d: must be at least 1", d)
			}
		}
		if err := checkData("dataset_sizes x feature_dimensions", slices.Max(c.Sizes), slices.Max(c.Dims)); err != nil {
			return err
		}
	}
	if err := checkIterations(c.Iterations, c.Warmup); err != nil {
		return err
	}
	if err := checkTimeout(c.TimeoutSeconds); err != nil {
		return err
	}
	switch {
	case c.Workers < 0 || c.Workers > MaxWorkers:
		return fieldErr("max_workers", "max workers %d: must be from 0 to %d (0 = 2)", c.Workers, MaxWorkers)
	case c.CPUProfiling && c.ProfileDir == "":
		return bad("CPU profiling needs a profile directory")
	case c.CPUProfiling && c.Parallel && !c.Isolate:
		return bad("CPU profiles of cells running at once in one process would mix; isolate the cells or run them serially")
	}
	return nil
}

// newModel builds an unfitted model of a; seeded algorithms get seed unless their
// parameters name one.
func newModel(a Algorithm, contamination float64, seed uint64) (*detector.Model, error) {
	alg, err := detector.Lookup(a.Name)
	if err != nil {
		return nil, err
	}
	raw := make(map[string]any, len(a.Params)+1)
	for k, v := range a.Params {
		raw[k] = v
	}
	if _, ok := raw["seed"]; !ok && alg.Seeded {
		raw["seed"] = int(seed & (1<<62 - 1))
	}
	return detector.NewModel(a.Name, raw, contamination)
}

func firstDuplicate(xs []int) int {
	for i, x := range xs {
		if slices.Contains(xs[:i], x) {
			return x
		}
	}
	return 0
}
