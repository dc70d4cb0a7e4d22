package loadtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// SchemaVersion is the version of Document (docs/performance-json.md). It changes when a field
// changes meaning or goes away; new fields may appear without a change.
const SchemaVersion = 1

// Kind is the "kind" of a Document and of the run stored with it.
const Kind = "loadtest"

// Machine describes where a run was measured, with the JSON names of the other performance
// documents. CurrentMachine fills what the runtime knows; a caller may add the CPU model and
// the memory.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"`
	MemoryBytes uint64 `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
}

// CurrentMachine is this machine as the Go runtime sees it (CPU model "unknown", memory 0).
func CurrentMachine() Machine {
	return Machine{CPUModel: "unknown", Cores: runtime.NumCPU(), GoVersion: runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// Config is what a load test was asked to do, as the document records it.
type Config struct {
	URL             string  `json:"url"` // the API base, without credentials or query
	Endpoint        string  `json:"endpoint"`
	DetectorID      string  `json:"detector_id,omitempty"`
	CreatedDetector bool    `json:"created_detector"` // the run created (and deleted) its detector
	Model           string  `json:"model"`            // Open or Closed (ramps and training: their own)
	Rate            float64 `json:"rate,omitempty"`
	Concurrency     int     `json:"concurrency,omitempty"`
	MaxInFlight     int     `json:"max_in_flight,omitempty"`
	Pacing          string  `json:"pacing,omitempty"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	Requests        int64   `json:"requests,omitempty"`
	TimeoutSeconds  float64 `json:"timeout_seconds"`
	Rows            int     `json:"rows,omitempty"`
	Cols            int     `json:"cols,omitempty"`
	BodyFile        string  `json:"body_file,omitempty"`
	Bodies          int     `json:"bodies"` // distinct bodies sent in turn
	Seed            uint64  `json:"seed"`
	// Ramp (with a ramp): the first rate, the step or factor, the steps' bound and length,
	// the p99 target and the success rate a step must hold.
	RampStart          float64 `json:"ramp_start,omitempty"`
	RampStep           float64 `json:"ramp_step,omitempty"`
	RampFactor         float64 `json:"ramp_factor,omitempty"`
	RampMaxSteps       int     `json:"ramp_max_steps,omitempty"`
	RampStepSeconds    float64 `json:"ramp_step_seconds,omitempty"`
	P99TargetSeconds   float64 `json:"p99_target_seconds,omitempty"`
	RampMinSuccessRate float64 `json:"ramp_min_success_rate,omitempty"`
}

// Document is a load test's result document (kind "loadtest"): the header every performance
// document has, the configuration, and one of Result (a run), Ramp, or Train.
type Document struct {
	SchemaVersion   int       `json:"schema_version"`
	Kind            string    `json:"kind"`
	SuiteID         string    `json:"suite_id"`
	Name            string    `json:"name"`
	Description     string    `json:"description,omitempty"`
	GonomalyVersion string    `json:"gonomaly_version"`
	Build           string    `json:"build"`
	Machine         Machine   `json:"machine"`
	Seed            uint64    `json:"seed"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	Config          Config    `json:"config"`

	Result *Result      `json:"result,omitempty"`
	Ramp   *RampResult  `json:"ramp,omitempty"`
	Train  *TrainResult `json:"train,omitempty"`
}

// NewDocument starts the document of a load test named name (loadtest-ENDPOINT, say) started
// at start: the header with a new suite id and this machine. Finish completes it.
func NewDocument(name string, cfg Config, start time.Time) *Document {
	cfg.URL = RedactURL(cfg.URL)
	return &Document{SchemaVersion: SchemaVersion, Kind: Kind, SuiteID: NewSuiteID(name, start), Name: name,
		Machine: CurrentMachine(), Seed: cfg.Seed, StartedAt: start.UTC(), Config: cfg}
}

// Finish sets the end of the run.
func (d *Document) Finish(end time.Time) {
	d.FinishedAt = end.UTC()
	d.DurationSeconds = d.FinishedAt.Sub(d.StartedAt).Seconds()
}

var unsafeID = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// NewSuiteID is a run's id in the store: NAME-YYYYMMDDTHHMMSSZ-XXXXXXXX (eight random hex
// digits), the form of every performance document's suite id.
func NewSuiteID(name string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := strings.Trim(unsafeID.ReplaceAllString(name, "-"), "-")
	if n == "" {
		n = "loadtest"
	}
	return n + "-" + t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RedactURL is u without its user information, query and fragment, for the record.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User, p.RawQuery, p.Fragment, p.RawFragment, p.ForceQuery = nil, "", "", "", false
	return p.String()
}

// WriteText writes the document as tables for people.
func (d *Document) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := d.Config
	fmt.Fprintf(tw, "load test %s of %s%s (%s)\n", d.SuiteID, c.URL, endpointPath(c.Endpoint), c.Endpoint)
	switch {
	case d.Ramp != nil:
		writeRamp(tw, d.Ramp)
	case d.Train != nil:
		tr := d.Train
		fmt.Fprintf(tw, "training stress: %d jobs, %d at once\n", tr.Jobs, tr.Concurrency)
		writeResult(tw, tr.HTTP)
		if tr.TrainingTimeJobs > 0 {
			l := tr.TrainingTime
			fmt.Fprintf(tw, "service's training time\t%d jobs: mean %s, p50 %s, p99 %s, max %s\n", tr.TrainingTimeJobs,
				ms(l.Mean), ms(l.P50), ms(l.P99), ms(l.Max))
		}
	case d.Result != nil:
		writeResult(tw, d.Result)
	}
	return tw.Flush()
}

func endpointPath(e string) string {
	switch e {
	case "predict":
		return PredictPath
	case "train":
		return TrainPath
	}
	return ""
}

// ms formats a duration in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func writeResult(w io.Writer, r *Result) {
	switch r.Model {
	case Open:
		fmt.Fprintf(w, "model\topen, %g requests/s, at most %d in flight, %s pacing\n", r.Rate, r.MaxInFlight, r.Pacing)
	default:
		fmt.Fprintf(w, "model\tclosed, %d clients\n", r.Concurrency)
	}
	fmt.Fprintf(w, "requests\t%d in %.2f s (sent at %.1f/s)\n", r.Requests, r.Elapsed.Seconds(), r.SentRate)
	fmt.Fprintf(w, "success\t%d (%.2f%%)\n", r.Successes, 100*r.SuccessRate)
	fmt.Fprintf(w, "throughput\t%.1f successful requests/s\n", r.Throughput)
	l := r.Latency
	fmt.Fprintf(w, "latency\tmean %s, p50 %s, p90 %s, p95 %s, p99 %s, p99.9 %s, max %s\n", ms(l.Mean), ms(l.P50), ms(l.P90),
		ms(l.P95), ms(l.P99), ms(l.P999), ms(l.Max))
	if r.SendLag != nil {
		fmt.Fprintf(w, "send lag\tp50 %s, p99 %s, max %s; %d late, %d dropped\n", ms(r.SendLag.P50), ms(r.SendLag.P99),
			ms(r.SendLag.Max), r.Late, r.Dropped)
	}
	fmt.Fprintf(w, "bytes\t%d in, %d out\n", r.BytesIn, r.BytesOut)
	if r.GeneratorCPUSeconds > 0 && r.Requests > 0 && r.Elapsed > 0 {
		fmt.Fprintf(w, "generator\tCPU %.2f s: %.1f µs a request, %.2f of the machine's %d cores\n", r.GeneratorCPUSeconds,
			1e6*r.GeneratorCPUSeconds/float64(r.Requests), r.GeneratorCPUSeconds/r.Elapsed.Seconds(), runtime.NumCPU())
	}
	codes := make([]string, 0, len(r.StatusCodes))
	for c := range r.StatusCodes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%s: %d", c, r.StatusCodes[c]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "status codes\t%s\n", strings.Join(parts, ", "))
	}
	for i, e := range r.Errors {
		label := ""
		if i == 0 {
			label = "errors"
		}
		fmt.Fprintf(w, "%s\t%d x %s\n", label, e.Count, e.Error)
	}
}

func writeRamp(w io.Writer, r *RampResult) {
	fmt.Fprintf(w, "ramp to p99 <= %s with >= %.2f%% success\n", ms(r.P99), 100*r.MinSuccessRate)
	fmt.Fprintf(w, "rate/s\tsent/s\tthroughput/s\tsuccess\tp50\tp99\tp99.9\tmax\tresult\n")
	for _, s := range r.Steps {
		res := s.Result
		verdict := "holds"
		if !s.Pass {
			verdict = "misses: " + s.Reason
		}
		fmt.Fprintf(w, "%g\t%.1f\t%.1f\t%.2f%%\t%s\t%s\t%s\t%s\t%s\n", s.Rate, res.SentRate, res.Throughput, 100*res.SuccessRate,
			ms(res.Latency.P50), ms(res.Latency.P99), ms(res.Latency.P999), ms(res.Latency.Max), verdict)
	}
	if r.BestStep >= 0 {
		fmt.Fprintf(w, "highest rate holding the target\t%g requests/s (stopped: %s)\n", r.BestRate, r.StopReason)
	} else {
		fmt.Fprintf(w, "highest rate holding the target\tnone (stopped: %s)\n", r.StopReason)
	}
}
