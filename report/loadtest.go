package report

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// loadDoc is the part of a stored load-test document (loadtest.Document, docs/loadtest.md)
// the report shows, decoded from its JSON rather than with package loadtest's types: the
// stored JSON is the contract, as for the other documents, and the report need not build
// with the load generator (its HTTP client, its HDR histogram) nor break while that package
// changes. TestLoadTestDocument checks this decoder against a real loadtest.Document.
type loadDoc struct {
	SchemaVersion int    `json:"schema_version"`
	SuiteID       string `json:"suite_id"`
	Name          string `json:"name"`
	Build         string `json:"build"`
	Config        struct {
		Endpoint    string  `json:"endpoint"`
		Model       string  `json:"model"`
		Rate        float64 `json:"rate"`
		Concurrency int     `json:"concurrency"`
	} `json:"config"`
	Result *loadResult `json:"result"`
	Ramp   *struct {
		P99TargetSeconds float64 `json:"p99_target_seconds"`
		MinSuccessRate   float64 `json:"min_success_rate"`
		BestRate         float64 `json:"best_rate"`
		BestStep         int     `json:"best_step"`
		StopReason       string  `json:"stop_reason"`
		Steps            []struct {
			Rate   float64     `json:"rate"`
			Pass   bool        `json:"pass"`
			Reason string      `json:"reason"`
			Result *loadResult `json:"result"`
		} `json:"steps"`
	} `json:"ramp"`
	Train *struct {
		Concurrency int         `json:"concurrency"`
		HTTP        *loadResult `json:"result"`
	} `json:"train"`
}

// loadResult is a run's result in a load-test document (loadtest.Result).
type loadResult struct {
	Model       string  `json:"model"`
	Rate        float64 `json:"rate"`
	Concurrency int     `json:"concurrency"`
	Requests    int64   `json:"requests"`
	SuccessRate float64 `json:"success_rate"`
	Throughput  float64 `json:"throughput"`
	Latency     struct {
		P50  float64 `json:"p50_seconds"`
		P90  float64 `json:"p90_seconds"`
		P99  float64 `json:"p99_seconds"`
		P999 float64 `json:"p999_seconds"`
		Max  float64 `json:"max_seconds"`
	} `json:"latency"`
	Percentiles []LoadPercentile `json:"percentiles"`
	Histogram   []LoadBucket     `json:"histogram"`
	// GeneratorCPU is the generating process's CPU time during the run, in seconds.
	GeneratorCPU float64 `json:"generator_cpu_seconds"`
}

// The load generator's models (loadtest.Open and loadtest.Closed).
const (
	modelOpen   = "open"
	modelClosed = "closed"
)

// Bounds of what the report keeps of stored load tests, which are outside input.
const (
	// MaxLoadTests is the most load tests the section lists (the newest).
	MaxLoadTests = 100
	// maxCurvePoints and maxBuckets bound a run's latency curve and histogram.
	maxCurvePoints = 200
	maxBuckets     = 64
	// maxRampSteps bounds a ramp's steps.
	maxRampSteps = 200
)

// Types of LoadTest.Type: a run of one model, a ramp of rising rates, or a training stress
// test.
const (
	LoadTestRun   = "run"
	LoadTestRamp  = "ramp"
	LoadTestTrain = "train"
)

// LoadTest is one stored load test (kind "loadtest", loadtest.Document, docs/loadtest.md).
// Its figures are those of its run; of a ramp, its best step's (the highest rate that held
// the target), else its last step's; of a training stress test, its jobs'.
type LoadTest struct {
	SuiteID     string    `json:"suite_id"`
	CreatedAt   time.Time `json:"created_at"`
	Name        string    `json:"name"`
	Build       string    `json:"build"`
	Endpoint    string    `json:"endpoint"`
	Type        string    `json:"type"`
	Model       string    `json:"model"`
	Rate        float64   `json:"rate,omitempty"`
	Concurrency int       `json:"concurrency,omitempty"`
	Requests    int64     `json:"requests"`
	SuccessRate float64   `json:"success_rate"`
	Throughput  float64   `json:"throughput"`
	P50Seconds  float64   `json:"p50_seconds"`
	P90Seconds  float64   `json:"p90_seconds"`
	P99Seconds  float64   `json:"p99_seconds"`
	P999Seconds float64   `json:"p999_seconds"`
	MaxSeconds  float64   `json:"max_seconds"`
	// GeneratorCPUPerRequest is the CPU time the load generator spent a request, in seconds
	// (0 when the document does not say): where the generator ran on the service's machine,
	// CPU the service did not have.
	GeneratorCPUPerRequest float64 `json:"generator_cpu_per_request_seconds,omitempty"`
	// Percentiles is the latency curve (at most 200 points, percentiles 0 to 100) and
	// Histogram the latencies in buckets (at most 64), as the document stores them.
	Percentiles []LoadPercentile `json:"percentiles"`
	Histogram   []LoadBucket     `json:"histogram"`
	// Ramp is present for a ramp.
	Ramp *LoadRamp `json:"ramp,omitempty"`
}

// LoadPercentile is one point of a load test's latency curve.
type LoadPercentile struct {
	Percentile float64 `json:"percentile"`
	Seconds    float64 `json:"seconds"`
}

// LoadBucket counts a load test's latencies in (FromSeconds, ToSeconds].
type LoadBucket struct {
	FromSeconds float64 `json:"from_seconds"`
	ToSeconds   float64 `json:"to_seconds"`
	Count       int64   `json:"count"`
}

// LoadRamp is what a ramp found: the highest rate that held the p99 target and the success
// rate, and each step.
type LoadRamp struct {
	P99TargetSeconds float64        `json:"p99_target_seconds"`
	MinSuccessRate   float64        `json:"min_success_rate"`
	BestRate         float64        `json:"best_rate"`
	StopReason       string         `json:"stop_reason"`
	Steps            []LoadRampStep `json:"steps"`
}

// LoadRampStep is one rate of a ramp.
type LoadRampStep struct {
	Rate        float64 `json:"rate"`
	Pass        bool    `json:"pass"`
	Reason      string  `json:"reason,omitempty"`
	Throughput  float64 `json:"throughput"`
	SuccessRate float64 `json:"success_rate"`
	P99Seconds  float64 `json:"p99_seconds"`
}

// addLoadTest adds a stored load test, or says why it cannot.
func (r *Report) addLoadTest(run *store.BenchmarkRun, d *loadDoc) string {
	lt := LoadTest{SuiteID: clip(cmp.Or(d.SuiteID, run.SuiteID)), CreatedAt: run.CreatedAt, Name: clip(d.Name), Build: clip(d.Build),
		Endpoint: clip(d.Config.Endpoint), Model: clip(d.Config.Model), Rate: d.Config.Rate, Concurrency: d.Config.Concurrency,
		Percentiles: []LoadPercentile{}, Histogram: []LoadBucket{}}
	var res *loadResult
	switch {
	case d.Ramp != nil:
		lt.Type, lt.Model = LoadTestRamp, modelOpen
		rp := &LoadRamp{P99TargetSeconds: d.Ramp.P99TargetSeconds, MinSuccessRate: d.Ramp.MinSuccessRate, BestRate: d.Ramp.BestRate,
			StopReason: clip(d.Ramp.StopReason), Steps: []LoadRampStep{}}
		for i, s := range d.Ramp.Steps {
			if i == maxRampSteps {
				break
			}
			st := LoadRampStep{Rate: s.Rate, Pass: s.Pass, Reason: clip(s.Reason)}
			if s.Result != nil {
				st.Throughput, st.SuccessRate, st.P99Seconds = s.Result.Throughput, s.Result.SuccessRate, s.Result.Latency.P99
			}
			rp.Steps = append(rp.Steps, st)
		}
		lt.Ramp = rp
		steps := d.Ramp.Steps
		i := d.Ramp.BestStep
		if i < 0 || i >= len(steps) {
			i = len(steps) - 1
		}
		if i >= 0 {
			res, lt.Rate = steps[i].Result, steps[i].Rate
		}
	case d.Train != nil:
		lt.Type, lt.Model, lt.Concurrency, res = LoadTestTrain, modelClosed, d.Train.Concurrency, d.Train.HTTP
	case d.Result != nil:
		lt.Type, res = LoadTestRun, d.Result
	default:
		return "no result, ramp or training result"
	}
	if res != nil {
		lt.Model = cmp.Or(clip(res.Model), lt.Model)
		lt.Rate, lt.Concurrency = cmp.Or(res.Rate, lt.Rate), cmp.Or(res.Concurrency, lt.Concurrency)
		lt.Requests, lt.SuccessRate, lt.Throughput = res.Requests, res.SuccessRate, res.Throughput
		l := res.Latency
		lt.P50Seconds, lt.P90Seconds, lt.P99Seconds, lt.P999Seconds, lt.MaxSeconds = l.P50, l.P90, l.P99, l.P999, l.Max
		if res.GeneratorCPU > 0 && res.Requests > 0 {
			lt.GeneratorCPUPerRequest = res.GeneratorCPU / float64(res.Requests)
		}
		for _, p := range res.Percentiles {
			if len(lt.Percentiles) == maxCurvePoints {
				break
			}
			if p.Percentile >= 0 && p.Percentile <= 100 && p.Seconds >= 0 && !math.IsInf(p.Seconds, 0) {
				lt.Percentiles = append(lt.Percentiles, LoadPercentile{Percentile: p.Percentile, Seconds: p.Seconds})
			}
		}
		for _, b := range res.Histogram {
			if len(lt.Histogram) == maxBuckets {
				break
			}
			if b.Count >= 0 && b.ToSeconds >= b.FromSeconds {
				lt.Histogram = append(lt.Histogram, LoadBucket{FromSeconds: b.FromSeconds, ToSeconds: b.ToSeconds, Count: b.Count})
			}
		}
	}
	r.LoadTests = append(r.LoadTests, lt)
	if len(r.LoadTests) > MaxLoadTests { // oldest first: keep the newest
		r.LoadTests = r.LoadTests[1:]
	}
	return ""
}

// newestCurve is the newest load test with a latency curve, nil when none has one.
func newestCurve(lts []LoadTest) *LoadTest {
	for i := len(lts) - 1; i >= 0; i-- {
		if len(lts[i].Percentiles) > 0 || len(lts[i].Histogram) > 0 {
			return &lts[i]
		}
	}
	return nil
}

// micros writes seconds as microseconds in three digits ("65.3 µs"), and 0 as nothing: a
// figure the document did not give.
func micros(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.3g µs", 1e6*v)
}
