package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/store"
)

// tuneSchemaVersion is the version of the tune documents' layout (docs/tuning.md).
const tuneSchemaVersion = 1

// tuneFlags are performance tune's flags: --url tunes a running service, --model one model
// scoring a file offline.
type tuneFlags struct {
	perf perfFlags

	// live
	url, apiKey, detector string
	p99                   time.Duration
	minSuccess            float64
	step                  time.Duration
	rows, cols, clients   int
	verify                int
	apply                 bool

	// offline
	model, input, label string
	repeat              int

	budget time.Duration
}

// Bounds of the flags.
const (
	maxTuneBudget  = time.Hour
	maxTuneStep    = 5 * time.Minute
	minTuneStep    = 200 * time.Millisecond
	maxTuneClients = 1024
	maxTuneRows    = 10_000
	maxTuneCols    = 1000
	maxTuneRepeat  = 25
)

func newTuneCmd(f *tuneFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tune (--url URL --p99 D | --model FILE --input DATA)",
		Short: "Find the fastest settings: a service's micro-batching under a p99 target, or a model's chunk size and workers",
		Long: `tune measures settings and keeps the fastest (docs/tuning.md).

With --url it tunes a running service (the API base, http://host:8080/api/v1, started with an
API key: the admin endpoint refuses a service without one). It measures the settings in force
(before), then searches batch_max, workers and batch_wait one at a time (a coordinate search
from the current settings, bounded by --budget), applying each through PUT /admin/tuning and
loading the service with --clients concurrent clients (the closed model, at saturation) for
--step-duration. The setting with the most throughput whose p99 is within --p99 and whose
success rate is at least --min-success is applied (unless --apply=false) and measured again
(after). If none meets the target, or on an error or Ctrl-C, the original settings are put
back. Without --detector it creates and trains a throwaway isolation forest and deletes it.

With --model and --input it times the model scoring the file (ScoreStream, scores discarded)
for each chunk size and worker count, --repeat times each, and reports the medians, the
defaults (before) and the fastest (after).`,
		Example: `  gonomaly performance tune --url http://127.0.0.1:8080/api/v1 --api-key "$KEY" --p99 10ms
  gonomaly performance tune --model forest.json --input big.csv --budget 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case f.url != "" && f.model != "":
				return usagef("give --url (tune a service) or --model (tune scoring a file), not both")
			case f.url != "":
				return runTuneLive(cmd, f)
			case f.model != "":
				return runTuneOffline(cmd, f)
			default:
				return usagef("give --url URL --p99 D to tune a service, or --model FILE --input DATA to tune scoring a file")
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "the service's API base, e.g. http://127.0.0.1:8080/api/v1")
	fl.StringVar(&f.apiKey, "api-key", "", "the service's API key (default $GONOMALY_API_KEY)")
	fl.StringVar(&f.detector, "detector", "", "tune with predictions of this detector (default: a throwaway one, created and deleted)")
	fl.DurationVar(&f.p99, "p99", 0, "the latency target: the p99 a setting must hold (required with --url)")
	fl.Float64Var(&f.minSuccess, "min-success", 0.99, "the share of requests that must succeed (0 to 1)")
	fl.DurationVar(&f.step, "step-duration", 5*time.Second, "how long each setting is measured")
	fl.IntVar(&f.rows, "rows", 1, "rows per predict request (1: single rows, the micro-batched path)")
	fl.IntVar(&f.cols, "cols", 10, "columns of the throwaway detector's data (with --detector, the detector's own)")
	fl.IntVar(&f.clients, "clients", 16, "concurrent clients of the load (closed model)")
	fl.IntVar(&f.verify, "verify", 2, "rounds in which the best setting and the original are measured in turns to confirm the choice")
	fl.BoolVar(&f.apply, "apply", true, "leave the best setting applied (false: measure, then put the original back)")
	fl.StringVar(&f.model, "model", "", "offline: the model file (gonomaly train --model)")
	fl.StringVar(&f.input, "input", "", "offline: the data to score (CSV, gzip CSV or Parquet)")
	fl.StringVar(&f.label, "label", "", "offline: a label column of --input to leave out of the features")
	fl.IntVar(&f.repeat, "repeat", 3, "offline: runs per setting (the median counts)")
	fl.DurationVar(&f.budget, "budget", 2*time.Minute, "the longest the search may take (the before and after runs included)")
	fl.BoolVar(&f.perf.json, "json", false, "print the result document as JSON on stdout instead of the table")
	fl.StringVarP(&f.perf.output, "output", "o", "", "also write the result document (JSON) to this file")
	fl.StringVar(&f.perf.database, "database", "", "store the result in this database (sqlite:FILE or postgres://...; default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db; \"none\" stores nothing)")
	return cmd
}

// checkCommon checks the flags both modes share.
func (f *tuneFlags) checkCommon() error {
	if f.budget <= 0 || f.budget > maxTuneBudget {
		return usagef("--budget %v: must be more than 0 and at most %v", f.budget, maxTuneBudget)
	}
	return nil
}

// tuneHeader is the header of a tune document.
func tuneHeader(name, desc string, start time.Time) bench.Header {
	return bench.Header{
		SchemaVersion: tuneSchemaVersion, Kind: store.KindTune, SuiteID: bench.NewSuiteID(name, start), Name: name,
		Description: desc, GonomalyVersion: version, Build: bench.BuildVersion(), Machine: bench.CurrentMachine(),
		StartedAt: start.UTC(),
	}
}

func finishHeader(h *bench.Header) {
	h.FinishedAt = time.Now().UTC()
	h.DurationSeconds = h.FinishedAt.Sub(h.StartedAt).Seconds()
}

// errNoSetting is the error of a tune that found no setting within the target.
var errNoSetting = errors.New("no setting met the target")

// ms formats a duration in milliseconds for the tables.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// apiKeyOr is --api-key, else $GONOMALY_API_KEY.
func apiKeyOr(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv("GONOMALY_API_KEY")
}

// gomaxprocs is this process's GOMAXPROCS (a function, so tests read the same value).
func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
