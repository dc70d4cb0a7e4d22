package sysstat

import (
	"errors"
	"math"
	"os"
	"runtime/metrics"
	"time"
)

// Sample is this process's resources at one moment.
type Sample struct {
	CPU time.Duration // user + system CPU time used so far (CPUTime)
	RSS int64         // resident set size in bytes; 0 when unknown
	// Heap is the bytes in heap objects, live or not yet swept (HeapBytes); HeapGoal is the
	// heap size at which the next collection is due.
	Heap, HeapGoal int64
	GCCycles       uint64        // collections completed
	GCCPU          time.Duration // CPU time spent collecting garbage (the runtime's estimate)
	Goroutines     int
	OpenFiles      int // open file descriptors, the Sampler's own not counted; 0 when unknown
	// GCPauseMax is the longest stop-the-world pause of the collector since the Sampler's
	// previous Sample (the upper edge of the runtime's histogram bucket it fell in; 0 when
	// there was none), and GCPauses how many pauses there were since then.
	GCPauseMax time.Duration
	GCPauses   uint64
}

// Sampler takes Samples of this process. It keeps its files open and reuses its buffers, so
// that on Linux a sample allocates nothing (BenchmarkSample). It is not safe for concurrent
// use; Close releases its files.
type Sampler struct {
	rss *RSSReader
	fds *fdCounter
	m   [6]metrics.Sample
	// pauses are the pause histogram's counts at the previous Sample.
	pauses []uint64
}

// The order of Sampler.m.
var samplerMetrics = [...]string{metricHeap, metricHeapGoal, metricGCCycles, metricGCCPU, metricGoroutines, metricGCPauses}

// NewSampler returns a sampler of this process. A figure the system does not give is 0 in
// every sample; it is not an error.
func NewSampler() *Sampler {
	s := &Sampler{}
	for i, name := range samplerMetrics {
		s.m[i].Name = name
	}
	s.rss, _ = OpenRSS(os.Getpid())
	s.fds, _ = openFDCounter()
	return s
}

// Sample measures the process now.
func (s *Sampler) Sample() Sample {
	metrics.Read(s.m[:])
	out := Sample{
		CPU:        CPUTime(),
		Heap:       int64(uint64Of(s.m[0].Value)),
		HeapGoal:   int64(uint64Of(s.m[1].Value)),
		GCCycles:   uint64Of(s.m[2].Value),
		GCCPU:      time.Duration(float64Of(s.m[3].Value) * float64(time.Second)),
		Goroutines: int(uint64Of(s.m[4].Value)),
	}
	out.GCPauseMax, out.GCPauses = s.pausesSince(s.m[5].Value)
	if s.rss != nil {
		out.RSS, _ = s.rss.Read()
	}
	if s.fds != nil {
		if n, err := s.fds.count(); err == nil {
			out.OpenFiles = n
			if s.rss != nil && s.rss.held() {
				out.OpenFiles--
			}
		}
	}
	return out
}

// Close closes the sampler's files.
func (s *Sampler) Close() error {
	var errs []error
	if s.rss != nil {
		errs = append(errs, s.rss.Close())
	}
	if s.fds != nil {
		errs = append(errs, s.fds.close())
	}
	return errors.Join(errs...)
}

// pausesSince compares the pause histogram h with the one of the previous Sample: the longest
// pause since (its bucket's upper edge; the lower one for the last, open bucket) and how many.
func (s *Sampler) pausesSince(v metrics.Value) (longest time.Duration, n uint64) {
	if v.Kind() != metrics.KindFloat64Histogram {
		return 0, 0
	}
	h := v.Float64Histogram()
	if len(s.pauses) != len(h.Counts) {
		s.pauses = make([]uint64, len(h.Counts)) // first Sample: every pause so far counts
	}
	for i, c := range h.Counts {
		if d := c - s.pauses[i]; d > 0 {
			n += d
			edge := h.Buckets[i+1]
			if math.IsInf(edge, 1) {
				edge = h.Buckets[i]
			}
			longest = time.Duration(edge * float64(time.Second))
		}
		s.pauses[i] = c
	}
	return longest, n
}

// uint64Of and float64Of read a metric that this Go version may not have (KindBad) as 0.
func uint64Of(v metrics.Value) uint64 {
	if v.Kind() != metrics.KindUint64 {
		return 0
	}
	return v.Uint64()
}

func float64Of(v metrics.Value) float64 {
	if v.Kind() != metrics.KindFloat64 {
		return 0
	}
	return v.Float64()
}
