package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/gonomaly/gonomaly/store"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/detector"
)

// cellCommand is the hidden subcommand of `performance` that serves one benchmark cell in a
// child process (bench.ServeChild).
const cellCommand = "__cell"

func newPerformanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "performance",
		Aliases: []string{"perf"},
		Short:   "Benchmark, scale-test, memory-test and compare detectors; monitor the service",
		Long: `performance measures the detectors: benchmark runs a suite of algorithms x sizes x widths x
contamination rates; scalability fits how one algorithm's time grows with the rows; memory
grows the data until the next step would pass a memory budget; compare ranks algorithms on
one labelled file by accuracy and speed. monitor shows a running service's health, speed,
model health and alerts.

The measuring commands print a table on stderr, or with --json one JSON document on stdout
(docs/performance-json.md), and --output FILE writes the document to a file. Each records
the machine, the gonomaly version and the seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBenchmarkCmd(new(benchmarkFlags)), newScalabilityCmd(new(scalabilityFlags)), newMemoryCmd(new(memoryFlags)),
		newCompareCmd(new(compareFlags)), newMonitorCmd(), newReportCmd(), newTuneCmd(new(tuneFlags)), newLoadtestCmd(), newSearchCmd(new(searchFlags)), newCellCmd())
	return cmd
}

// perfFlags are the flags every performance command takes.
type perfFlags struct {
	json     bool
	output   string
	config   string
	seed     uint64
	params   []string
	database string
}

func (f *perfFlags) register(fs *pflag.FlagSet, multi bool) {
	fs.BoolVar(&f.json, "json", false, "print the result document as JSON on stdout instead of the table")
	fs.StringVarP(&f.output, "output", "o", "", "also write the result document (JSON) to this file")
	fs.StringVar(&f.config, "config", "", "configuration file (YAML, or JSON for a .json name) over the defaults; the flags you give override it")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the synthetic data and of random algorithms")
	fs.StringVar(&f.database, "database", "", "store the result in this database (sqlite:FILE or postgres://...; default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db; \"none\" stores nothing)")
	if multi {
		fs.StringArrayVarP(&f.params, "param", "p", nil, "algorithm parameter as algorithm.name=value (repeatable), e.g. knn.n_neighbors=10")
	} else {
		fs.StringArrayVarP(&f.params, "param", "p", nil, "algorithm parameter as name=value (repeatable)")
	}
}

// setting is what one flag does to a command's configuration.
type setting struct {
	flag  string
	apply func()
}

// merge is the one rule by which every performance command builds its configuration:
//
//	defaults < preset < configuration file < flags the user set
//
// The caller has put the defaults (and benchmark its preset) in the configuration; when
// --config names a file, load reads it over them. Then each setting whose flag the user gave
// (cmd.Flags().Changed) applies, in order. A flag left alone sets nothing, with or without a
// file: the default a flag shows in --help is the configuration's own, never a value copied
// over the file or the preset.
func (f *perfFlags) merge(cmd *cobra.Command, load func(path string) error, settings []setting) error {
	if f.config != "" {
		if err := load(f.config); err != nil {
			return configErr(err)
		}
	}
	for _, s := range settings {
		if cmd.Flags().Lookup(s.flag) == nil {
			panic("performance: setting of an undefined flag --" + s.flag)
		}
		if cmd.Flags().Changed(s.flag) {
			s.apply()
		}
	}
	return nil
}

// options are the run options every command shares: cells run in a child process that is
// this same binary, and progress shows on a terminal.
func (f *perfFlags) options(bar *progress) (bench.Options, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.Options{}, fmt.Errorf("finding this program to run cells in child processes: %w", err)
	}
	o := bench.Options{Child: []string{exe, "performance", cellCommand}, Version: version}
	if bar != nil {
		o.Reporter = bar
	}
	return o, nil
}

// runPerf runs a performance command's measurement, run(ctx, cfg, options), with the options
// every command shares while a progress line on stderr counts its unit of work; a
// configuration error the run finds is a usage error.
func runPerf[C, D any](cmd *cobra.Command, f *perfFlags, unit, name string, run func(context.Context, C, bench.Options) (D, error), cfg C) (D, error) {
	bar := newProgress(cmd.ErrOrStderr(), false)
	bar.step("", unit, "%s", name)
	defer bar.clear()
	opts, err := f.options(bar)
	if err != nil {
		var zero D
		return zero, err
	}
	doc, err := run(cmd.Context(), cfg, opts)
	bar.clear()
	if err != nil {
		return doc, configErr(err)
	}
	return doc, nil
}

// checkedConfig is the configuration of a one-algorithm command (memory, scalability).
type checkedConfig interface {
	CheckBounds() error
	Validate() error
}

// checkSingle finishes a one-algorithm command's configuration after merge: the algorithm a
// must be named, --param sets its parameters, then cfg (which holds a) is checked, its bounds
// first, a bound broken by a flag named by that flag (flags as settingErr takes them).
func (f *perfFlags) checkSingle(cmd *cobra.Command, a *bench.Algorithm, cfg checkedConfig, flags map[string]string) error {
	if a.Name == "" {
		return usagef("name the algorithm with --algorithm (or in --config)")
	}
	if err := singleParams(a, f.params); err != nil {
		return err
	}
	if err := cfg.CheckBounds(); err != nil {
		return settingErr(cmd, err, flags)
	}
	if err := cfg.Validate(); err != nil {
		return configErr(err)
	}
	return nil
}

// settingErr is configErr for the validation of settings the flags may have set: a
// bench.FieldError about settings given by flags names those flags (flags maps a setting's
// name in a configuration file to its flag).
func settingErr(cmd *cobra.Command, err error, flags map[string]string) error {
	var fe *bench.FieldError
	if errors.As(err, &fe) {
		var named []string
		for _, field := range strings.Split(fe.Field, " x ") {
			if fl, ok := flags[field]; ok && cmd.Flags().Changed(fl) {
				named = append(named, "--"+fl)
			}
		}
		if len(named) > 0 {
			return usagef("%s: %s", strings.Join(named, ", "), fe.Msg)
		}
	}
	return configErr(err)
}

// configErr makes a configuration error a usage error (exit code 2).
func configErr(err error) error {
	if errors.Is(err, bench.ErrConfig) || errors.Is(err, detector.ErrUnknown) || errors.Is(err, detector.ErrBadParameter) {
		return usageError{err}
	}
	return err
}

// algorithmList joins --algorithms (commas) with the words after it (spaces), as the seed
// system's CLI takes them: --algorithms isolation_forest local_outlier_factor.
func algorithmList(cmd *cobra.Command, flag []string, args []string) ([]string, error) {
	if len(args) > 0 && !cmd.Flags().Changed("algorithms") {
		return nil, usagef("unexpected arguments %q (algorithm names follow --algorithms)", args)
	}
	var names []string
	for _, s := range append(flag, args...) {
		names = append(names, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return names, nil
}

// algorithmsNamed is the algorithms of these names, with no parameters (nil for none).
func algorithmsNamed(names []string) []bench.Algorithm {
	var as []bench.Algorithm
	for _, n := range names {
		as = append(as, bench.Algorithm{Name: n})
	}
	return as
}

// applyParams sets --param algorithm.name=value on the named algorithms of as.
func applyParams(as []bench.Algorithm, params []string) error {
	for _, p := range params {
		key, value, ok := strings.Cut(p, "=")
		alg, name, dotted := strings.Cut(key, ".")
		if !ok || !dotted || alg == "" || name == "" {
			return usagef("--param %q: want algorithm.name=value, e.g. knn.n_neighbors=10", p)
		}
		found := false
		for i := range as {
			if as[i].Name == alg {
				if as[i].Params == nil {
					as[i].Params = map[string]any{}
				}
				as[i].Params[name] = value
				found = true
			}
		}
		if !found {
			return usagef("--param %q: %s is not one of the algorithms run", p, alg)
		}
	}
	return nil
}

// singleParams turns --param name=value into one algorithm's parameters.
func singleParams(a *bench.Algorithm, params []string) error {
	raw, err := detector.ParseKeyValues(params)
	if err != nil {
		return usageError{err}
	}
	if len(raw) > 0 {
		if a.Params == nil {
			a.Params = map[string]any{}
		}
		for k, v := range raw {
			a.Params[k] = v
		}
	}
	return nil
}

// emit writes the document: to --output as indented JSON, then as JSON on stdout with --json
// or as a table on stderr without, and stores it (saveRun).
func (f *perfFlags) emit(cmd *cobra.Command, kind, suiteID string, doc any, table func(io.Writer) error) error {
	if f.output != "" {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(f.output, append(b, '\n')); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	if f.json {
		if err := writeJSON(cmd.OutOrStdout(), doc); err != nil {
			return err
		}
	} else if err := table(cmd.ErrOrStderr()); err != nil {
		return err
	}
	return f.saveRun(cmd.Context(), kind, suiteID, doc)
}

// saveRun stores a performance document in the store (the one serve uses by default) so
// reports and trend analysis can find it by suite id. It is the one place the performance
// commands store their results.
func (f *perfFlags) saveRun(ctx context.Context, kind, suiteID string, doc any) error {
	url := f.database
	if url == "none" {
		return nil
	}
	if url == "" {
		url = store.DefaultURL()
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return fmt.Errorf("storing the result: %w", err)
	}
	defer st.Close()
	run := &store.BenchmarkRun{SuiteID: suiteID, Kind: kind, Name: kind + " " + suiteID, Document: b}
	if err := st.CreateBenchmarkRun(ctx, run); err != nil {
		return fmt.Errorf("storing the result: %w", err)
	}
	return nil
}

// newCellCmd is the hidden command a child process runs to serve one cell. A panic is a
// failed cell whose error is the panic's message, not a crash trace: one on this goroutine is
// recovered here; one in a detector's worker comes back from the fit as an error carrying its
// stack, which the child writes to its stderr and cuts from the result.
func newCellCmd() *cobra.Command {
	return &cobra.Command{
		Use:    cellCommand,
		Short:  "Run one benchmark cell read as JSON from stdin (used by the other commands)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveCell(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), bench.ServeChild)
		},
	}
}

// serveCell runs serve (bench.ServeChild) with the panic handling newCellCmd describes.
func serveCell(ctx context.Context, in io.Reader, stdout, stderr io.Writer, serve func(context.Context, io.Reader, io.Writer) error) (err error) {
	out := &cellResultWriter{w: stdout, stderr: stderr}
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "panic: %v\n\n%s", p, debug.Stack())
			err = json.NewEncoder(stdout).Encode(bench.CellResult{Error: fmt.Sprintf("panic: %v%s", p, bugNote)})
		}
	}()
	return serve(ctx, in, out)
}

const bugNote = " (a bug in gonomaly: please report it)"

// cellResultWriter passes a child's result to w, cutting a panic's stack from its error
// (the parent shows the error in its table) and writing the whole error to stderr instead.
// ServeChild writes its result in one Write.
type cellResultWriter struct {
	w, stderr io.Writer
}

func (c *cellResultWriter) Write(p []byte) (int, error) {
	var res bench.CellResult
	if json.Unmarshal(p, &res) == nil && res.Error != "" {
		if msg, _, ok := strings.Cut(res.Error, "\n\ngoroutine "); ok && strings.Contains(msg, "panic: ") {
			fmt.Fprintln(c.stderr, res.Error)
			if err := json.NewEncoder(c.w).Encode(bench.CellResult{Error: msg + bugNote}); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.w.Write(p)
}
