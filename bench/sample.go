package bench

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// heapObjects is the runtime/metrics name of the bytes in heap objects, live or not yet swept;
// right after runtime.GC it is the live heap.
const heapObjects = "/memory/classes/heap/objects:bytes"

func readHeap() int64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// liveHeap collects garbage and returns the bytes of live heap objects. It collects twice:
// the first collection only moves sync.Pool contents to the pools' victim caches, the second
// frees them, and pooled buffers are not what a measurement is after.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	return readHeap()
}

// heapSampler records the largest heap seen since its last reset, reading it every interval
// from its own goroutine (started by startHeapSampler, stopped by close). A nil sampler
// records nothing and reports 0.
type heapSampler struct {
	mu    sync.Mutex
	max   int64
	limit int64
	over  func(heap int64)
	stop  chan struct{}
	done  chan struct{}
}

// startHeapSampler starts sampling; when limit is positive, over is called (once) from the
// sampling goroutine the first time the heap passes it.
func startHeapSampler(every time.Duration, limit int64, over func(int64)) *heapSampler {
	s := &heapSampler{max: readHeap(), limit: limit, over: over, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(every)
	return s
}

func (s *heapSampler) loop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	sample := []metrics.Sample{{Name: heapObjects}}
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

// reset starts a new phase: the peak becomes the heap now.
func (s *heapSampler) reset() {
	if s == nil {
		return
	}
	v := readHeap()
	s.mu.Lock()
	s.max = v
	s.mu.Unlock()
}

// peak is the largest heap since the last reset, including the heap now.
func (s *heapSampler) peak() int64 {
	if s == nil {
		return 0
	}
	v := readHeap()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.max = max(s.max, v)
	return s.max
}

// close stops the sampling goroutine and waits for it.
func (s *heapSampler) close() {
	close(s.stop)
	<-s.done
}

// resetPeakRSS asks Linux to reset this process's peak resident set size (VmHWM) to its
// current one; it reports whether the kernel accepted.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is this process's peak resident set size in bytes: VmHWM on Linux, getrusage's
// maximum elsewhere.
func peakRSS() int64 {
	if v := procKB("/proc/self/status", "VmHWM"); v > 0 {
		return v
	}
	return maxRSS()
}

// currentRSS is this process's resident set size in bytes (0 where /proc is missing).
func currentRSS() int64 { return procKB("/proc/self/status", "VmRSS") }

// procKB reads a "Key:   123 kB" line of a /proc status file as bytes; 0 when absent.
func procKB(path, key string) int64 {
	v := procField(path, key)
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	if err != nil {
		return 0
	}
	return n << 10
}

// rssOfPID is the resident set size in bytes of another process, from /proc/PID/statm (the
// cheapest file to read: two numbers in pages); 0 when it cannot be read.
func rssOfPID(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
