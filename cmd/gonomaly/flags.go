package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// modelFlags are the flags shared by detect and train that build a detector.
type modelFlags struct {
	algorithm     string
	input         string
	label         string
	params        []string
	contamination float64
	seed          int64
	maxMemory     byteSize
	maxFitTime    time.Duration
	force         bool
}

func (f *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.algorithm, "algorithm", "a", "", "detector to fit: "+strings.Join(detector.Names(), ", "))
	fs.StringVarP(&f.input, "input", "i", "", "data file: CSV with a header row (.csv, .csv.gz) or Parquet (.parquet); - for CSV on standard input")
	fs.StringVar(&f.label, "label", "", "name of a 0/1 label column (1 = anomaly): kept out of the features, used to evaluate")
	fs.StringArrayVarP(&f.params, "param", "p", nil, "algorithm parameter as name=value (repeatable); see --help for each algorithm's")
	fs.Float64Var(&f.contamination, "contamination", detector.DefaultContamination, "share of training rows flagged as anomalies, in (0, 0.5]")
	fs.Int64Var(&f.seed, "seed", 0, "random seed for random algorithms (isolation_forest); the same seed gives the same scores on any number of cores")
	fs.Var(&f.maxMemory, "max-memory", "refuse a fit the detector estimates to need more memory than this, e.g. 2GiB (0: the default, half of the memory this process may use)")
	fs.DurationVar(&f.maxFitTime, "max-fit-time", 0, "refuse a fit the detector estimates to take longer than this, e.g. 10m (0: no limit)")
	fs.BoolVar(&f.force, "force", false, "fit even when the estimate is over --max-memory or --max-fit-time (the warning is still printed)")
}

// budgetFlags are the flags that bound a fit; they do not apply to a saved model.
var budgetFlags = []string{"max-memory", "max-fit-time", "force"}

// fitInput reads --input (less its --label column) and fits m on it, reporting on prog,
// after checkBudget has allowed the fit (its warning goes to w).
func (f *modelFlags) fitInput(ctx context.Context, w io.Writer, prog *progress, m *detector.Model) (*dataset.Table, *detector.FitResult, error) {
	tab, err := readTable(ctx, prog, f.input, f.label)
	if err != nil {
		return nil, nil, err
	}
	prog.clear() // for a warning
	if err := f.checkBudget(w, m, tab.X.Rows, tab.X.Cols); err != nil {
		return nil, nil, err
	}
	prog.step("fit", "rows", "fitting %s on %d x %d", m.Algorithm, tab.X.Rows, tab.X.Cols)
	fr, err := m.Fit(ctx, tab.X)
	prog.clear()
	if err != nil {
		return nil, nil, err
	}
	return tab, fr, nil
}

// checkBudget compares the detector's estimate of a fit on rows x cols with the budget of
// --max-memory (default half of sysstat.MemoryLimit) and --max-fit-time (default none). Over
// it, it prints the estimate as a warning on w and refuses to fit (a runtime error, exit 1)
// unless --force is given.
func (f *modelFlags) checkBudget(w io.Writer, m *detector.Model, rows, cols int) error {
	if f.maxFitTime < 0 {
		return usagef("--max-fit-time %v: must not be negative (0: no limit)", f.maxFitTime)
	}
	b := detector.Budget{Bytes: int64(f.maxMemory), Time: f.maxFitTime}
	if b.Bytes == 0 {
		b.Bytes = sysstat.MemoryLimit() / 2
	}
	err := m.CheckBudget(rows, cols, b)
	if err == nil || !errors.Is(err, detector.ErrOverBudget) {
		return err
	}
	fmt.Fprintln(w, "warning:", err)
	if f.force {
		fmt.Fprintln(w, "warning: fitting anyway (--force)")
		return nil
	}
	return errors.New("not fitting over the budget: lower the parameters named above or fit on fewer rows, raise --max-memory or --max-fit-time, or pass --force to fit anyway")
}

// newModel builds an unfitted model from the flags; every problem is a usage error.
func (f *modelFlags) newModel(cmd *cobra.Command) (*detector.Model, error) {
	raw, err := detector.ParseKeyValues(f.params)
	if err != nil {
		return nil, usageError{err}
	}
	alg, err := detector.Lookup(f.algorithm)
	if err != nil {
		return nil, usageError{err}
	}
	if cmd.Flags().Changed("seed") {
		if f.seed < 0 {
			return nil, usagef("--seed %d: must not be negative", f.seed)
		}
		if _, dup := raw["seed"]; dup {
			return nil, usagef("give the seed either as --seed or as --param seed=, not both")
		}
		if alg.Seeded {
			raw["seed"] = fmt.Sprint(f.seed)
		}
	}
	m, err := detector.NewModel(alg.Name, raw, f.contamination)
	if err != nil {
		return nil, usageError{err}
	}
	return m, nil
}

// algorithmHelp lists every algorithm with its parameters, for --help.
func algorithmHelp() string {
	var b strings.Builder
	b.WriteString("Algorithms and their parameters (--param name=value):\n")
	for _, a := range detector.Algorithms() {
		fmt.Fprintf(&b, "\n  %s\n      %s\n", a.Name, a.Summary)
		for _, s := range a.Params {
			fmt.Fprintf(&b, "      %-14s %s (default %v; %s)\n", s.Name, s.Doc, s.Default, s.Range())
		}
	}
	return b.String()
}

// byteSize is a flag value in bytes, given plainly (1048576) or with a unit: KiB, MiB, GiB,
// TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000), e.g. 512MiB, 1.5GiB. It is never
// negative.
type byteSize int64

func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func (b byteSize) String() string { return formatSize(int64(b)) }
func (b byteSize) Type() string   { return "size" }

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
}

// parseSize reads a byte size: a whole number of bytes, or a number with a unit of
// sizeUnits (case does not matter; a space between is allowed).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.name) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.name)), u.mult
			break
		}
	}
	bad := func(why string) error {
		return fmt.Errorf("size %q: %s (e.g. 1048576, 512MiB, 1GiB)", s, why)
	}
	if t == "" {
		return 0, bad("no number")
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 {
			return 0, bad("must not be negative")
		}
		if n > math.MaxInt64/mult {
			return 0, bad("too large")
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, bad("not a number with a unit of B, KiB, MiB, GiB, TiB, kB, MB, GB or TB")
	}
	if f < 0 {
		return 0, bad("must not be negative")
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, bad("too large")
	}
	if v != math.Trunc(v) {
		return 0, bad("not a whole number of bytes")
	}
	return int64(v), nil
}

// formatSize writes n bytes in the largest binary unit that divides it, else in bytes;
// parseSize reads it back.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// humanSize writes n bytes rounded to a binary unit, for messages.
func humanSize(n int64) string {
	f, unit := float64(n), "B"
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	if unit == "B" {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}
