package loadtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The models of a run.
const (
	Open   = "open"   // constant arrival rate: Options.Rate
	Closed = "closed" // Options.Concurrency clients, each waiting for its answer
)

// Histogram range: latencies are recorded in microseconds from 1 µs to 60 s with three
// significant digits (a value is within 0.1 % of the one recorded); longer ones count as 60 s.
const (
	lowestMicros  = 1
	highestMicros = 60_000_000
	sigFigs       = 3
)

// MaxErrorKinds is the most distinct errors a Result lists; the rest are counted together
// under OtherErrors.
const MaxErrorKinds = 16

// OtherErrors is the error kind that counts the errors past MaxErrorKinds.
const OtherErrors = "other"

// Result is what a run measured. Latencies are the time from a request's intended send time
// (see Options and the package doc: coordinated omission) to its whole answer read; failed
// requests count in the latencies too, dropped ones do not.
type Result struct {
	Model       string  `json:"model"`                 // Open or Closed
	Rate        float64 `json:"rate,omitempty"`        // open: requests per second asked for
	Concurrency int     `json:"concurrency,omitempty"` // closed: clients
	MaxInFlight int     `json:"max_in_flight,omitempty"`
	Pacing      string  `json:"pacing,omitempty"` // open: Options.Pacing

	// Requests counts the requests sent and the ones dropped; Successes those answered 2xx.
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	// Dropped counts the requests of the open model not sent because they were more than
	// Options.MaxLag behind schedule (every in-flight slot was busy); they count as failures.
	Dropped int64 `json:"dropped"`
	// Late counts the requests of the open model sent behind schedule because every in-flight
	// slot was busy; their latency counts from their intended send time.
	Late int64 `json:"late"`
	// SuccessRate is Successes / Requests (0 when no request).
	SuccessRate float64 `json:"success_rate"`

	// Elapsed is from the start to the last answer.
	Elapsed time.Duration `json:"-"`
	// Throughput is successful requests per second of Elapsed.
	Throughput float64 `json:"throughput"`
	// SentRate is requests sent per second, from the start to the last send.
	SentRate float64 `json:"sent_rate"`

	Latency Latency `json:"latency"`
	// SendLag (open model) is how late requests left against their schedule: the generator's
	// own timing error, and the waits for a free slot of the late ones.
	SendLag *Latency `json:"send_lag,omitempty"`

	// StatusCodes counts answers by HTTP status ("200", "503"); requests that got no answer
	// are in Errors only.
	StatusCodes map[string]int64 `json:"status_codes"`
	// Errors counts failures by kind ("connection refused", "timeout", "HTTP 503 unavailable"),
	// most frequent first, at most MaxErrorKinds of them and OtherErrors.
	Errors []ErrorCount `json:"errors"`

	BytesIn  int64 `json:"bytes_in"`  // response bodies
	BytesOut int64 `json:"bytes_out"` // request bodies

	// GeneratorCPUSeconds is the CPU time, user and system, the generating process used
	// during the run (0 where it is not measured): the generator's own cost when it runs in a
	// process of its own, as `gonomaly performance loadtest` does. On the service's machine
	// that CPU was not the service's.
	GeneratorCPUSeconds float64 `json:"generator_cpu_seconds,omitempty"`

	// Percentiles is the latency curve: the latency at each of a fixed list of percentiles
	// from 0 to 100, for charts.
	Percentiles []Point `json:"percentiles"`
	// Histogram counts latencies in buckets of 1-2-5 steps, from the first non-empty one to
	// the last, for reports.
	Histogram []Bucket `json:"histogram"`

	hist *hdrhistogram.Histogram
}

// Failures is the number of requests that did not succeed (dropped ones included).
func (r *Result) Failures() int64 { return r.Requests - r.Successes }

// LatencyHistogram returns a copy of the run's HDR histogram of latencies, in microseconds.
func (r *Result) LatencyHistogram() *hdrhistogram.Histogram {
	if r.hist == nil {
		return newHist()
	}
	return r.hist.Clone()
}

// MarshalJSON writes Elapsed as elapsed_seconds beside the tagged fields.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		ElapsedSeconds float64 `json:"elapsed_seconds"`
	}{plain(r), r.Elapsed.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var v struct {
		plain
		ElapsedSeconds float64 `json:"elapsed_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result(v.plain)
	r.Elapsed = seconds(v.ElapsedSeconds)
	return nil
}

// Latency summarises a latency distribution.
type Latency struct {
	Min, Mean, P50, P90, P95, P99, P999, Max time.Duration
}

// MarshalJSON writes the figures in seconds: min_seconds, mean_seconds, p50_seconds, ...
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(latencyJSON{l.Min.Seconds(), l.Mean.Seconds(), l.P50.Seconds(), l.P90.Seconds(),
		l.P95.Seconds(), l.P99.Seconds(), l.P999.Seconds(), l.Max.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Latency) UnmarshalJSON(b []byte) error {
	var v latencyJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Latency{seconds(v.Min), seconds(v.Mean), seconds(v.P50), seconds(v.P90), seconds(v.P95), seconds(v.P99),
		seconds(v.P999), seconds(v.Max)}
	return nil
}

type latencyJSON struct {
	Min  float64 `json:"min_seconds"`
	Mean float64 `json:"mean_seconds"`
	P50  float64 `json:"p50_seconds"`
	P90  float64 `json:"p90_seconds"`
	P95  float64 `json:"p95_seconds"`
	P99  float64 `json:"p99_seconds"`
	P999 float64 `json:"p999_seconds"`
	Max  float64 `json:"max_seconds"`
}

// seconds converts seconds to a Duration, clamping what a Duration cannot hold.
func seconds(s float64) time.Duration {
	switch {
	case math.IsNaN(s) || s <= 0:
		return 0
	case s >= float64(math.MaxInt64)/1e9:
		return math.MaxInt64
	}
	return time.Duration(math.Round(s * 1e9)) // to the nearest: 1.23e-4 * 1e9 is 122999.99...
}

// Point is one point of a latency curve: Seconds is the latency at Percentile (0 to 100).
type Point struct {
	Percentile float64 `json:"percentile"`
	Seconds    float64 `json:"seconds"`
}

// Bucket counts the latencies from FromSeconds (exclusive, but the first bucket includes it)
// up to ToSeconds (inclusive).
type Bucket struct {
	FromSeconds float64 `json:"from_seconds"`
	ToSeconds   float64 `json:"to_seconds"`
	Count       int64   `json:"count"`
}

// ErrorCount is how many requests failed with one kind of error.
type ErrorCount struct {
	Error string `json:"error"`
	Count int64  `json:"count"`
}

// curvePercentiles are the percentiles of Result.Percentiles.
var curvePercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100}

// bucketBounds are the upper bounds of Result.Histogram's buckets, in microseconds: 1-2-5
// steps from 10 µs to 50 s, then the histogram's 60 s.
var bucketBounds = func() []int64 {
	var b []int64
	for d := int64(10); d <= 10_000_000; d *= 10 {
		b = append(b, d, 2*d, 5*d)
	}
	return append(b, highestMicros)
}()

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(lowestMicros, highestMicros, sigFigs) }

// micros is d in whole microseconds within the histogram's range.
func micros(d time.Duration) int64 {
	us := d.Microseconds()
	return min(max(us, lowestMicros), highestMicros)
}

func usDuration(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// summarize is the Latency of h.
func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	q := func(p float64) time.Duration { return usDuration(h.ValueAtQuantile(p)) }
	return Latency{
		Min: usDuration(h.Min()), Mean: time.Duration(h.Mean() * float64(time.Microsecond)),
		P50: q(50), P90: q(90), P95: q(95), P99: q(99), P999: q(99.9), Max: usDuration(h.Max()),
	}
}

// curve is h's latency at curvePercentiles.
func curve(h *hdrhistogram.Histogram) []Point {
	if h.TotalCount() == 0 {
		return []Point{}
	}
	vals := h.ValueAtPercentilesSlice(curvePercentiles)
	pts := make([]Point, len(curvePercentiles))
	for i, p := range curvePercentiles {
		v := vals[i]
		if p == 0 {
			v = h.Min()
		}
		pts[i] = Point{Percentile: p, Seconds: usDuration(v).Seconds()}
	}
	return pts
}

// buckets counts h in bucketBounds, from the first non-empty bucket to the last.
func buckets(h *hdrhistogram.Histogram) []Bucket {
	counts := make([]int64, len(bucketBounds))
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		// Every value of the bar is equivalent to bar.From within the histogram's precision.
		i, _ := slices.BinarySearch(bucketBounds, bar.From)
		counts[min(i, len(counts)-1)] += bar.Count
	}
	first, last := -1, -1
	for i, c := range counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	out := []Bucket{}
	if first < 0 {
		return out
	}
	for i := first; i <= last; i++ {
		from := int64(0)
		if i > 0 {
			from = bucketBounds[i-1]
		}
		out = append(out, Bucket{FromSeconds: usDuration(from).Seconds(), ToSeconds: usDuration(bucketBounds[i]).Seconds(), Count: counts[i]})
	}
	return out
}

// errorCounts lists the counts most frequent first (ties by text), keeping MaxErrorKinds and
// adding the rest to OtherErrors.
func errorCounts(m map[string]int64) []ErrorCount {
	out := make([]ErrorCount, 0, len(m))
	other := m[OtherErrors]
	for k, v := range m {
		if k != OtherErrors {
			out = append(out, ErrorCount{k, v})
		}
	}
	slices.SortFunc(out, func(a, b ErrorCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Error, b.Error)) })
	if len(out) > MaxErrorKinds {
		for _, e := range out[MaxErrorKinds:] {
			other += e.Count
		}
		out = out[:MaxErrorKinds]
	}
	if other > 0 {
		out = append(out, ErrorCount{OtherErrors, other})
	}
	return out
}

// statusKey is the StatusCodes key of a status.
func statusKey(code int) string { return strconv.Itoa(code) }

// String is a one-line summary of the result.
func (r *Result) String() string {
	return fmt.Sprintf("%d requests, %.2f%% ok, %.1f/s, p50 %v, p99 %v, max %v", r.Requests, 100*r.SuccessRate,
		r.Throughput, r.Latency.P50, r.Latency.P99, r.Latency.Max)
}
