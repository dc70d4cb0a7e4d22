// Command gonomaly detects anomalies in tabular data, trains and serves detectors, and
// measures their performance. See README.md and docs/ for the full manual.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
)

// version is set at build time with -ldflags "-X main.version=..."; without it, it is the
// binary's build information: the commit it was built from (scripts/build.sh stamps it).
var version = "dev"

func init() {
	if version == "dev" {
		version = bench.BuildVersion()
	}
}

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gonomaly",
		Short: "Anomaly detection that agrees with scikit-learn and runs many times faster",
		Long: `gonomaly detects anomalies in tabular data with six detectors (isolation_forest,
local_outlier_factor, one_class_svm, knn, hbos, ecod) whose scores agree with
scikit-learn / PyOD, using every core.

Data is CSV with a header row (plain or gzip) or Parquet; every feature column numeric. Scores: higher = more anomalous.
Exit codes: 0 success, 1 runtime or data error, 2 usage error.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newDetectCmd(), newTrainCmd(), newServeCmd(), newPerformanceCmd(), newWorkerCmd(), newClusterCmd())
	return root
}

func main() { os.Exit(main1(os.Args[1:])) }

// main1 is the process: the CLI on args, cancelled by SIGINT or SIGTERM; it returns the exit
// code.
func main1(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "gonomaly:", errorText(err))
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return 2
	}
	return 1
}

// isCobraUsage recognises the errors cobra itself returns for bad commands and args.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "required flag", "accepts ", "invalid argument", "flag needs an argument", "if any flags in the group", "none of the others can be", "at least one of the flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// errorText is how an error is shown. A panic recovered in a detector (detector.ErrInternal)
// carries its stack: the message comes first, on a line of its own, saying it is a bug; the
// stack follows for the report.
func errorText(err error) string {
	msg := err.Error()
	if short, stack, ok := strings.Cut(msg, "\n\ngoroutine "); ok && strings.Contains(short, "panic: ") {
		return short + bugNote + "\n\nstack, for the report:\ngoroutine " + stack
	}
	return msg
}
