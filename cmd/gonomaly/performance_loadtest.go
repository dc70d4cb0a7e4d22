package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/loadtest"
	"github.com/gonomaly/gonomaly/store"
)

type loadtestFlags struct {
	perf                        perfFlags
	url, detector, endpoint     string
	bodyFile, apiKey            string
	rate                        float64
	concurrency, maxInFlight    int
	pacing                      string
	duration, timeout           time.Duration
	requests                    int64
	rows, cols, trainRows       int
	ramp                        bool
	p99, rampStepDuration       time.Duration
	rampStart, rampStep, factor float64
	rampSteps                   int
	minSuccess                  float64
}

// Bounds of the loadtest flags beyond the loadtest package's own.
const (
	ltMaxTrainRows = 1_000_000
	ltMinDuration  = 10 * time.Millisecond
	ltMinTimeout   = time.Millisecond
	ltBodies       = 64 // distinct generated predict bodies, sent in turn
)

func newLoadtestCmd() *cobra.Command {
	f := &loadtestFlags{}
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Load a running service's predict or train endpoint and measure latency and throughput",
		Long: `loadtest sends requests to a running gonomaly service (--url, the API base such as
http://host:8080/api/v1) and measures latency (HDR histogram: p50, p90, p95, p99, p99.9, max),
throughput, success rate, and the answers by status and by error. It targets only that URL.

--rate N runs the open model: N requests per second on a fixed schedule whatever the answers,
each latency measured from its intended send time (coordinated omission corrected), at most
--max-in-flight outstanding. --concurrency N runs the closed model: N clients, each sending its
next request when the previous one is answered (as wrk). Neither: 10 clients. The run ends at
--duration or after --requests, whichever comes first.

--ramp steps the open model's rate up from --ramp-start (adding --ramp-step, or multiplying by
--ramp-factor) for --ramp-step-duration each, until a step's p99 passes --p99 or its success rate
falls below --min-success, and reports the highest rate that held.

Requests are single predictions of --rows rows of --cols generated values (seeded), or the
JSON bodies of --body-file (one object, an array of objects, or one object per line). With
--endpoint train each request trains the detector on --train-rows generated rows; in the closed
model it is the training stress test: --requests jobs, --concurrency at once, with the service's
own training time. Without --detector (and without --body-file) a throwaway isolation_forest is
created and trained through the API (for the training stress test, one untrained per job slot,
since the service refuses a training that overlaps another of the same detector with 409), and
deleted at the end.

A live line on stderr shows progress on a terminal; the result is a table on stderr, or with
--json the document (docs/performance-json.md) on stdout; it is stored (kind loadtest) in
--database. See docs/loadtest.md.`,
		Example: `  gonomaly performance loadtest --url http://127.0.0.1:8080/api/v1 --concurrency 16 --duration 30s
  gonomaly performance loadtest --url http://127.0.0.1:8080/api/v1 --detector ID --rate 2000 --duration 1m --json
  gonomaly perf loadtest --url http://10.0.0.5:8080/api/v1 --ramp --p99 10ms --ramp-start 500 --ramp-factor 1.5
  gonomaly performance loadtest --url http://127.0.0.1:8080/api/v1 --endpoint train --concurrency 4 --requests 40
  gonomaly performance loadtest --url http://127.0.0.1:8080/api/v1 --body-file bodies.ndjson --rate 500 --requests 10000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLoadtest(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "the service's API base, e.g. http://127.0.0.1:8080/api/v1 (required)")
	fl.StringVar(&f.detector, "detector", "", "the trained detector to load (default: create and train a throwaway isolation_forest)")
	fl.StringVar(&f.endpoint, "endpoint", "predict", "predict or train")
	fl.Float64Var(&f.rate, "rate", 0, fmt.Sprintf("open model: requests per second (up to %d)", loadtest.MaxRate))
	fl.IntVar(&f.concurrency, "concurrency", 0, fmt.Sprintf("closed model: clients (1 to %d; default 10 when no --rate)", loadtest.MaxConcurrency))
	fl.IntVar(&f.maxInFlight, "max-in-flight", loadtest.DefaultMaxInFlight, fmt.Sprintf("open model: most requests outstanding (1 to %d); a request due when all are busy goes late", loadtest.MaxConcurrency))
	fl.StringVar(&f.pacing, "pacing", "precise", "open model: how to wait for each request's time: precise (a kernel timer: evenly spaced, about 30 µs more CPU a request) or timer (Go's timers: bursts a millisecond apart, cheaper)")
	fl.DurationVar(&f.duration, "duration", 30*time.Second, "how long to send (10ms to 24h; 0 with --requests: until they are sent)")
	fl.Int64Var(&f.requests, "requests", 0, fmt.Sprintf("send at most this many requests (up to %d; 0: no bound but --duration)", loadtest.MaxRequests))
	fl.IntVar(&f.rows, "rows", 1, fmt.Sprintf("rows per predict request (1 to %d)", loadtest.MaxRows))
	fl.IntVar(&f.cols, "cols", 8, fmt.Sprintf("values per row (1 to %d; default the --detector's width)", loadtest.MaxCols))
	fl.IntVar(&f.trainRows, "train-rows", 2000, fmt.Sprintf("rows per train request, and to train the throwaway detector (2 to %d)", ltMaxTrainRows))
	fl.StringVar(&f.bodyFile, "body-file", "", "send these JSON bodies in turn instead of generated ones (one object, an array, or one per line)")
	fl.StringVar(&f.apiKey, "api-key", "", "API key for the service (default $GONOMALY_API_KEY)")
	fl.DurationVar(&f.timeout, "timeout", 0, "bound on each request (default 10s, 5m for train; up to 10m)")
	fl.BoolVar(&f.ramp, "ramp", false, "step the open model's rate up to the highest that holds --p99")
	fl.DurationVar(&f.p99, "p99", 0, "with --ramp: the p99 latency target (required, up to 1m)")
	fl.Float64Var(&f.rampStart, "ramp-start", 100, "with --ramp: the first step's rate")
	fl.Float64Var(&f.rampStep, "ramp-step", 0, "with --ramp: add this to the rate at each step (instead of --ramp-factor)")
	fl.Float64Var(&f.factor, "ramp-factor", 0, "with --ramp: multiply the rate by this at each step (default 2 when no --ramp-step)")
	fl.IntVar(&f.rampSteps, "ramp-steps", 10, fmt.Sprintf("with --ramp: most steps (1 to %d)", loadtest.MaxRampSteps))
	fl.DurationVar(&f.rampStepDuration, "ramp-step-duration", 10*time.Second, "with --ramp: each step's length (10ms to 1h)")
	fl.Float64Var(&f.minSuccess, "min-success", 0.99, "with --ramp: the success rate a step must hold (0 to 1)")
	fl.BoolVar(&f.perf.json, "json", false, "print the result document as JSON on stdout instead of the table")
	fl.StringVarP(&f.perf.output, "output", "o", "", "also write the result document (JSON) to this file")
	fl.Uint64Var(&f.perf.seed, "seed", 0, "seed of the generated rows")
	fl.StringVar(&f.perf.database, "database", "", "store the result in this database (sqlite:FILE or postgres://...; default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db; \"none\" stores nothing)")
	return cmd
}

// check validates the flags (usage errors) and fills in the defaults that depend on others.
func (f *loadtestFlags) check(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	if f.url == "" {
		return usagef("--url is required: the service's API base, e.g. http://127.0.0.1:8080/api/v1")
	}
	if _, err := loadtest.ParseURL(f.url); err != nil {
		return usagef("--url: %s", strings.TrimPrefix(err.Error(), loadtest.ErrTargets.Error()+": "))
	}
	switch {
	case f.endpoint != "predict" && f.endpoint != "train":
		return usagef("--endpoint %q: want predict or train", f.endpoint)
	case changed("rate") && changed("concurrency"):
		return usagef("--rate and --concurrency: give one (--rate runs the open model, --concurrency the closed one)")
	case f.rate < 0 || f.rate > loadtest.MaxRate || changed("rate") && f.rate == 0:
		return usagef("--rate %g: want more than 0 and up to %d requests per second", f.rate, loadtest.MaxRate)
	case changed("concurrency") && (f.concurrency < 1 || f.concurrency > loadtest.MaxConcurrency):
		return usagef("--concurrency %d: want 1 to %d clients", f.concurrency, loadtest.MaxConcurrency)
	case f.maxInFlight < 1 || f.maxInFlight > loadtest.MaxConcurrency:
		return usagef("--max-in-flight %d: want 1 to %d", f.maxInFlight, loadtest.MaxConcurrency)
	case changed("max-in-flight") && !changed("rate") && !f.ramp:
		return usagef("--max-in-flight bounds the open model: give --rate or --ramp")
	case f.pacing != "precise" && f.pacing != "timer":
		return usagef("--pacing %q: want precise or timer", f.pacing)
	case changed("pacing") && !changed("rate") && !f.ramp:
		return usagef("--pacing paces the open model: give --rate or --ramp")
	case f.duration < 0 || f.duration > loadtest.MaxDuration || f.duration > 0 && f.duration < ltMinDuration:
		return usagef("--duration %v: want 10ms to 24h (or 0 with --requests)", f.duration)
	case f.requests < 0 || f.requests > loadtest.MaxRequests:
		return usagef("--requests %d: want 0 to %d", f.requests, loadtest.MaxRequests)
	case f.duration == 0 && f.requests == 0 && !f.ramp:
		return usagef("--duration 0 without --requests: the run would not end")
	case f.rows < 1 || f.rows > loadtest.MaxRows:
		return usagef("--rows %d: want 1 to %d", f.rows, loadtest.MaxRows)
	case f.cols < 1 || f.cols > loadtest.MaxCols:
		return usagef("--cols %d: want 1 to %d", f.cols, loadtest.MaxCols)
	case f.trainRows < 2 || f.trainRows > ltMaxTrainRows:
		return usagef("--train-rows %d: want 2 to %d", f.trainRows, ltMaxTrainRows)
	case f.timeout < 0 || f.timeout > loadtest.MaxTimeout || changed("timeout") && f.timeout < ltMinTimeout:
		return usagef("--timeout %v: want 1ms to %v", f.timeout, loadtest.MaxTimeout)
	case f.bodyFile != "" && (changed("rows") || changed("cols") || changed("train-rows") || changed("detector") || changed("seed")):
		return usagef("--body-file sends its own bodies: --rows, --cols, --train-rows, --seed and --detector do not apply")
	case f.endpoint == "train" && changed("rows"):
		return usagef("--rows is the predict requests' size: give --train-rows for train requests")
	}
	if f.ramp {
		switch {
		case changed("rate") || changed("concurrency"):
			return usagef("--ramp sets the rate itself: give --ramp-start and --ramp-step or --ramp-factor, not --rate or --concurrency")
		case changed("duration") || changed("requests"):
			return usagef("--ramp runs steps of --ramp-step-duration: --duration and --requests do not apply")
		case f.p99 <= 0 || f.p99 > time.Minute:
			return usagef("--ramp needs --p99, the latency target (above 0, up to 1m), e.g. --p99 10ms")
		case f.rampStart <= 0 || f.rampStart > loadtest.MaxRate:
			return usagef("--ramp-start %g: want more than 0 and up to %d", f.rampStart, loadtest.MaxRate)
		case changed("ramp-step") && changed("ramp-factor"):
			return usagef("--ramp-step and --ramp-factor: give one")
		case changed("ramp-step") && (f.rampStep <= 0 || f.rampStep > loadtest.MaxRate):
			return usagef("--ramp-step %g: want more than 0 and up to %d", f.rampStep, loadtest.MaxRate)
		case changed("ramp-factor") && (f.factor <= 1 || f.factor > 100):
			return usagef("--ramp-factor %g: want more than 1 and up to 100", f.factor)
		case f.rampSteps < 1 || f.rampSteps > loadtest.MaxRampSteps:
			return usagef("--ramp-steps %d: want 1 to %d", f.rampSteps, loadtest.MaxRampSteps)
		case f.rampStepDuration < ltMinDuration || f.rampStepDuration > time.Hour:
			return usagef("--ramp-step-duration %v: want 10ms to 1h", f.rampStepDuration)
		case !(f.minSuccess >= 0 && f.minSuccess <= 1):
			return usagef("--min-success %g: want 0 to 1", f.minSuccess)
		}
		if !changed("ramp-step") && !changed("ramp-factor") {
			f.factor = 2
		}
	} else {
		for _, fl := range []string{"p99", "ramp-start", "ramp-step", "ramp-factor", "ramp-steps", "ramp-step-duration", "min-success"} {
			if changed(fl) {
				return usagef("--%s goes with --ramp", fl)
			}
		}
		if !changed("rate") && !changed("concurrency") {
			f.concurrency = 10
		}
	}
	if f.endpoint == "train" && changed("max-in-flight") && !changed("rate") && !f.ramp {
		return usagef("--max-in-flight bounds the open model: give --rate")
	}
	if !changed("duration") && changed("requests") {
		f.duration = 0 // --requests alone bounds the run
	}
	if f.trainStress() {
		switch {
		case f.requests == 0:
			return usagef("--endpoint train in the closed model is the training stress test: give --requests, the number of training jobs (1 to %d)", loadtest.MaxTrainJobs)
		case f.concurrency > loadtest.MaxTrainConcurrency:
			return usagef("--concurrency %d: the training stress test runs 1 to %d jobs at once", f.concurrency, loadtest.MaxTrainConcurrency)
		case f.requests > loadtest.MaxTrainJobs:
			return usagef("--requests %d: the training stress test runs 1 to %d jobs", f.requests, loadtest.MaxTrainJobs)
		case changed("duration"):
			return usagef("--duration: the training stress test runs --requests jobs")
		}
	}
	if f.timeout == 0 {
		f.timeout = loadtest.DefaultTimeout
		if f.endpoint == "train" {
			f.timeout = loadtest.DefaultTrainTimeout
		}
	}
	if f.apiKey == "" {
		f.apiKey = os.Getenv("GONOMALY_API_KEY")
	}
	return nil
}

func runLoadtest(cmd *cobra.Command, f *loadtestFlags) error {
	if err := f.check(cmd); err != nil {
		return err
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	base := strings.TrimRight(f.url, "/")
	api := &apiClient{base: base, key: f.apiKey, http: &http.Client{Timeout: 30 * time.Second}}
	var bodies [][]byte
	if f.bodyFile != "" {
		var err error
		if bodies, err = readBodyFile(f.bodyFile); err != nil {
			return err
		}
	}
	start := time.Now()
	detectorID, created := f.detector, false
	var ids []string // the throwaway detectors
	if f.bodyFile == "" {
		if f.detector != "" {
			cols, fitted, err := api.checkDetector(ctx, f.detector)
			if err != nil {
				return err
			}
			if f.endpoint == "predict" && !fitted {
				return fmt.Errorf("--detector %s is not trained: train it first, or give --endpoint train", f.detector)
			}
			if cmd.Flags().Changed("cols") && cols != f.cols && cols > 0 {
				return usagef("--cols %d: detector %s takes rows of %d values", f.cols, f.detector, cols)
			}
			if cols > 0 {
				f.cols = cols
			}
		} else {
			// One detector, or for the training stress test one per job slot: the service
			// answers a training that overlaps another of the same detector 409 conflict.
			n := 1
			if f.trainStress() {
				n = f.concurrency
			}
			for range n {
				id, err := api.throwaway(ctx, stderr, "loadtest", f.trainRows, f.cols, f.perf.seed, !f.trainStress())
				if err != nil {
					return err
				}
				ids = append(ids, id)
				defer api.deleteDetector(ctx, stderr, "loadtest", id)
			}
			detectorID, created = ids[0], true
		}
		if len(ids) == 0 {
			ids = []string{detectorID}
		}
		var err error
		if f.endpoint == "predict" {
			bodies, err = loadtest.PredictBodies(detectorID, f.rows, f.cols, ltBodies, f.perf.seed)
		} else {
			for _, id := range ids {
				var b []byte
				if b, err = loadtest.TrainBody(id, f.trainRows, f.cols, f.perf.seed); err != nil {
					break
				}
				bodies = append(bodies, b)
			}
		}
		if err != nil {
			return usagef("%s", strings.TrimPrefix(err.Error(), loadtest.ErrTargets.Error()+": "))
		}
	}
	path := loadtest.PredictPath
	if f.endpoint == "train" {
		path = loadtest.TrainPath
	}
	targets, err := loadtest.NewTargets("POST", loadtest.Endpoint(base, path), bodies)
	if err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), loadtest.ErrTargets.Error()+": "))
	}
	header := http.Header{}
	if f.apiKey != "" {
		header.Set("Authorization", "Bearer "+f.apiKey)
	}

	cfg := loadtest.Config{URL: base, Endpoint: f.endpoint, DetectorID: detectorID, CreatedDetector: created,
		TimeoutSeconds: f.timeout.Seconds(), BodyFile: f.bodyFile, Bodies: len(bodies), Seed: f.perf.seed}
	if f.bodyFile == "" {
		cfg.Cols = f.cols
		cfg.Rows = f.rows
		if f.endpoint == "train" {
			cfg.Rows = f.trainRows
		}
	}
	live := newLiveLine(stderr)
	defer live.clear()
	opts := loadtest.Options{Targeter: targets, Timeout: f.timeout, Header: header, Progress: live.update, ProgressEvery: 500 * time.Millisecond}
	if f.rate > 0 || f.ramp {
		if opts.Pacing, err = loadtest.ParsePacing(f.pacing); err != nil {
			return usagef("--pacing %q: want precise or timer", f.pacing)
		}
		cfg.Pacing = f.pacing
	}
	name := "loadtest-" + f.endpoint
	var doc *loadtest.Document
	switch {
	case f.ramp:
		opts.Duration, opts.MaxInFlight = f.rampStepDuration, f.maxInFlight
		cfg.Model, cfg.MaxInFlight = "ramp", f.maxInFlight
		cfg.RampStart, cfg.RampStep, cfg.RampFactor, cfg.RampMaxSteps = f.rampStart, f.rampStep, f.factor, f.rampSteps
		cfg.RampStepSeconds, cfg.P99TargetSeconds, cfg.RampMinSuccessRate = f.rampStepDuration.Seconds(), f.p99.Seconds(), f.minSuccess
		doc = loadtest.NewDocument(name+"-ramp", cfg, start)
		live.total = 0
		r, err := loadtest.Ramp(ctx, loadtest.RampOptions{Options: opts, Start: f.rampStart, Step: f.rampStep, Factor: f.factor,
			MaxSteps: f.rampSteps, P99: f.p99, MinSuccessRate: f.minSuccess, OnStep: func(s loadtest.RampStep) {
				verdict := "holds"
				if !s.Pass {
					verdict = "misses: " + s.Reason
				}
				live.println(fmt.Sprintf("ramp: %g/s p99 %v, %.2f%% ok: %s", s.Rate, s.Result.Latency.P99, 100*s.Result.SuccessRate, verdict))
			}})
		if err != nil {
			return ltRunErr(err)
		}
		doc.Ramp = r
	case f.trainStress():
		cfg.Model, cfg.Concurrency, cfg.Requests = loadtest.Closed, f.concurrency, f.requests
		doc = loadtest.NewDocument(name, cfg, start)
		live.total = f.requests
		tr, err := loadtest.TrainStress(ctx, loadtest.TrainOptions{Targeter: targets, Concurrency: f.concurrency, Jobs: f.requests, OnePerClient: created,
			Timeout: f.timeout, Header: header, Progress: live.update, ProgressEvery: opts.ProgressEvery})
		if err != nil {
			return ltRunErr(err)
		}
		doc.Train = tr
		if err := noSuccess(tr.HTTP); err != nil {
			live.clear()
			_ = doc.WriteText(stderr)
			return err
		}
	default:
		opts.Duration, opts.Requests = f.duration, f.requests
		if f.rate > 0 {
			opts.Rate, opts.MaxInFlight = f.rate, f.maxInFlight
			cfg.Model, cfg.Rate, cfg.MaxInFlight = loadtest.Open, f.rate, f.maxInFlight
		} else {
			opts.Concurrency = f.concurrency
			cfg.Model, cfg.Concurrency = loadtest.Closed, f.concurrency
		}
		cfg.DurationSeconds, cfg.Requests = f.duration.Seconds(), f.requests
		doc = loadtest.NewDocument(name, cfg, start)
		live.total = f.requests
		if f.rate > 0 && f.duration > 0 {
			live.total = min(int64(f.rate*f.duration.Seconds()), max(f.requests, 0))
			if f.requests == 0 {
				live.total = int64(f.rate * f.duration.Seconds())
			}
		}
		res, err := loadtest.Run(ctx, opts)
		if err != nil {
			return ltRunErr(err)
		}
		doc.Result = res
		if err := noSuccess(res); err != nil {
			live.clear()
			_ = doc.WriteText(stderr)
			return err
		}
	}
	live.clear()
	doc.Finish(time.Now())
	doc.GonomalyVersion, doc.Build = version, bench.BuildVersion()
	m := bench.CurrentMachine()
	doc.Machine = loadtest.Machine{CPUModel: m.CPUModel, Cores: m.Cores, MemoryBytes: m.MemoryBytes, GoVersion: m.GoVersion,
		GOMAXPROCS: m.GOMAXPROCS, OS: m.OS, Arch: m.Arch}
	err = f.perf.emit(cmd, store.KindLoadTest, doc.SuiteID, doc, doc.WriteText)
	if note := sharedMachineNote(base, doc, runtime.NumCPU()); note != "" {
		fmt.Fprintln(stderr, note)
	}
	return err
}

// sharedMachineNote is a line for stderr when the service at base runs on this machine
// (a loopback address or localhost) and the generator took a tenth or more of its cores in the
// run (a ramp: its last step): the latencies then include the two competing for the cores.
// It is empty otherwise.
func sharedMachineNote(base string, doc *loadtest.Document, cores int) string {
	r := doc.Result
	if doc.Ramp != nil && len(doc.Ramp.Steps) > 0 {
		r = doc.Ramp.Steps[len(doc.Ramp.Steps)-1].Result
	}
	if r == nil || r.GeneratorCPUSeconds <= 0 || r.Elapsed <= 0 || cores < 1 {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return ""
	}
	used := r.GeneratorCPUSeconds / r.Elapsed.Seconds()
	if used < 0.1*float64(cores) {
		return ""
	}
	return fmt.Sprintf("loadtest: the generator used %.2f of this machine's %d cores, which the service at %s shares: "+
		"the latencies include the two competing for them (docs/loadtest.md)", used, cores, host)
}

// trainStress reports whether the flags ask for the training stress test.
func (f *loadtestFlags) trainStress() bool { return f.endpoint == "train" && f.rate == 0 && !f.ramp }

// ltRunErr is a run's error: an option the flags let through is a usage error; an
// interruption says so.
func ltRunErr(err error) error {
	switch {
	case errors.Is(err, loadtest.ErrOptions), errors.Is(err, loadtest.ErrTargets):
		return usageError{err}
	case errors.Is(err, context.Canceled):
		return errors.New("loadtest: interrupted; nothing stored")
	}
	return err
}

// noSuccess is an error when no request succeeded: such a run measured nothing of the
// service, and is not stored.
func noSuccess(r *loadtest.Result) error {
	if r.Requests == 0 || r.Successes > 0 {
		return nil
	}
	why := "no answer"
	if len(r.Errors) > 0 {
		why = fmt.Sprintf("%d x %s", r.Errors[0].Count, r.Errors[0].Error)
	}
	return fmt.Errorf("loadtest: none of the %d requests succeeded (%s); nothing stored", r.Requests, why)
}

// readBodyFile reads --body-file.
func readBodyFile(path string) ([][]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, usagef("--body-file: %v", err)
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, usagef("--body-file %s: not a regular file", path)
	}
	bodies, err := loadtest.ReadBodies(fh, 0)
	if err != nil {
		return nil, usagef("--body-file %s: %s", path, strings.TrimPrefix(err.Error(), loadtest.ErrTargets.Error()+": "))
	}
	return bodies, nil
}

// liveLine is the progress line on stderr, redrawn in place on a terminal (nothing
// otherwise). Its methods are safe for concurrent use.
type liveLine struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	drawn bool
	total int64 // requests expected, 0 when unknown
}

func newLiveLine(w io.Writer) *liveLine { return &liveLine{w: w, on: isTerminal(w)} }

func (l *liveLine) update(p loadtest.Progress) {
	if !l.on {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	okPct := 100.0
	if p.Done > 0 {
		okPct = 100 * float64(p.Successes) / float64(p.Done)
	}
	of := ""
	if l.total > 0 {
		of = fmt.Sprintf("/%d", l.total)
	}
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Done) / s
	}
	fmt.Fprintf(l.w, "\r\033[Kloadtest %s: %d%s sent, %d answered (%.2f%% ok), %d in flight, %d dropped, %.1f/s",
		p.Elapsed.Truncate(100*time.Millisecond), p.Sent, of, p.Done, okPct, p.InFlight, p.Dropped, rate)
	l.drawn = true
}

// println prints a line above the live line (on a terminal only).
func (l *liveLine) println(s string) {
	if !l.on {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprint(l.w, "\r\033[K")
		l.drawn = false
	}
	fmt.Fprintln(l.w, s)
}

func (l *liveLine) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprint(l.w, "\r\033[K")
		l.drawn = false
	}
}

// ltCut shortens a message from the service to at most n bytes of valid text without control
// characters (it goes to a terminal).
func ltCut(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}
