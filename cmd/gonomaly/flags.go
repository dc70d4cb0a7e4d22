package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/detector"
)

// modelFlags are the flags shared by detect and train that build a detector.
type modelFlags struct {
	algorithm     string
	input         string
	label         string
	params        []string
	contamination float64
	seed          int64
}

func (f *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.algorithm, "algorithm", "a", "", "detector to fit: "+strings.Join(detector.Names(), ", "))
	fs.StringVarP(&f.input, "input", "i", "", "CSV file with a header row (.csv or .csv.gz); - for standard input")
	fs.StringVar(&f.label, "label", "", "name of a 0/1 label column (1 = anomaly): kept out of the features, used to evaluate")
	fs.StringArrayVarP(&f.params, "param", "p", nil, "algorithm parameter as name=value (repeatable); see --help for each algorithm's")
	fs.Float64Var(&f.contamination, "contamination", detector.DefaultContamination, "share of training rows flagged as anomalies, in (0, 0.5]")
	fs.Int64Var(&f.seed, "seed", 0, "random seed for random algorithms (isolation_forest); the same seed gives the same scores on any number of cores")
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
