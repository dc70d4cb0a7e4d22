package sysstat

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Names of the runtime/metrics figures read here.
const (
	// metricHeap is the bytes in heap objects, live or not yet swept; right after a
	// collection it is the live heap.
	metricHeap       = "/memory/classes/heap/objects:bytes"
	metricHeapGoal   = "/gc/heap/goal:bytes"
	metricGCCycles   = "/gc/cycles/total:gc-cycles"
	metricGCCPU      = "/cpu/classes/gc/total:cpu-seconds"
	metricGoroutines = "/sched/goroutines:goroutines"
	metricGCPauses   = "/sched/pauses/total/gc:seconds"
)

// HeapBytes returns the bytes in heap objects now, live or not yet swept (one runtime/metrics
// read: no collection, no stop of the world, no allocation).
func HeapBytes() int64 {
	heapRead.mu.Lock()
	defer heapRead.mu.Unlock()
	metrics.Read(heapRead.s[:])
	return int64(heapRead.s[0].Value.Uint64())
}

// heapRead is HeapBytes's sample, shared: one on the stack escapes to the heap (metrics.Read
// keeps its argument opaque), and HeapBytes is the heap sampler's look every millisecond.
var heapRead = struct {
	mu sync.Mutex
	s  [1]metrics.Sample
}{s: [1]metrics.Sample{{Name: metricHeap}}}

// LiveHeap collects garbage and returns the bytes of live heap objects. It collects twice:
// the first collection only moves sync.Pool contents to the pools' victim caches, the second
// frees them, and pooled buffers are not what a measurement is after.
func LiveHeap() int64 {
	runtime.GC()
	runtime.GC()
	return HeapBytes()
}

// HeapSampler records the largest heap (HeapBytes) seen since its last reset, reading it
// every interval from a goroutine of its own, which Close stops. A look reads one
// runtime/metrics value and allocates nothing. A nil *HeapSampler records nothing: Reset does
// nothing and Peak reports 0.
type HeapSampler struct {
	mu    sync.Mutex
	max   int64
	limit int64
	over  func(heap int64)
	stop  chan struct{}
	done  chan struct{}
}

// StartHeapSampler starts sampling every interval. When limit is positive, over is called
// once, from the sampling goroutine, the first time the heap passes limit.
func StartHeapSampler(every time.Duration, limit int64, over func(heap int64)) *HeapSampler {
	s := &HeapSampler{max: HeapBytes(), limit: limit, over: over, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(every)
	return s
}

func (s *HeapSampler) loop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	sample := []metrics.Sample{{Name: metricHeap}}
	fired := false
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		metrics.Read(sample)
		v := int64(sample[0].Value.Uint64())
		s.max = max(s.max, v)
		s.mu.Unlock()
		if s.limit > 0 && v > s.limit && !fired && s.over != nil {
			fired = true
			s.over(v)
		}
	}
}

// Reset starts a new phase: the peak becomes the heap now.
func (s *HeapSampler) Reset() {
	if s == nil {
		return
	}
	v := HeapBytes()
	s.mu.Lock()
	s.max = v
	s.mu.Unlock()
}

// Peak is the largest heap since the last reset, including the heap now.
func (s *HeapSampler) Peak() int64 {
	if s == nil {
		return 0
	}
	v := HeapBytes()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.max = max(s.max, v)
	return s.max
}

// Close stops the sampling goroutine and waits for it. It must be called once.
func (s *HeapSampler) Close() {
	close(s.stop)
	<-s.done
}

// AllocatedBytes returns the bytes the process has allocated on the heap since it started
// (cumulative: it never falls). The difference of two readings is what was allocated between
// them, by every goroutine. One runtime/metrics read, about 0.3 us; reads are serialised.
func AllocatedBytes() int64 {
	allocRead.mu.Lock()
	defer allocRead.mu.Unlock()
	metrics.Read(allocRead.s[:])
	return int64(allocRead.s[0].Value.Uint64())
}

var allocRead = struct {
	mu sync.Mutex
	s  [1]metrics.Sample
}{s: [1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}}
