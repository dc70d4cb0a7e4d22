package optimize

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// Reading is what a MemoryGuard's probe measures: the Go heap (bytes in heap objects, live or
// not yet swept) and the process's resident set, in bytes. A figure the probe cannot read is
// 0, which is never over a limit.
type Reading struct {
	Heap, RSS int64
}

// GuardOptions configure a MemoryGuard. At least one limit must be set.
type GuardOptions struct {
	// HeapBytes is the limit on the Go heap (0: none).
	HeapBytes int64
	// RSSBytes is the limit on the process's resident set (0: none). The resident set
	// includes memory the Go runtime has freed but not yet returned to the system.
	RSSBytes int64
	// Poll is how long a reading is trusted: Over reads the probe at most once per Poll, and
	// Wait looks again every Poll (default 50 ms).
	Poll time.Duration
	// FreeOnCross runs debug.FreeOSMemory (a collection that returns freed memory to the
	// system) once each time the guard finds memory over a limit after it was under, then
	// reads again: garbage alone then never makes callers wait.
	FreeOnCross bool
	// Probe reads the memory (default: runtime/metrics for the heap, /proc/self/statm for the
	// resident set, read only for the limits that are set). Tests give a probe of their own.
	Probe func() Reading
}

// DefaultGuardPoll is GuardOptions.Poll's default.
const DefaultGuardPoll = 50 * time.Millisecond

// MemoryGuard applies back-pressure while the process uses more memory than a limit: Wait
// blocks callers that are about to allocate a lot (a new training, the next chunk of a
// parallel map) until memory is back under the limit, so the work in flight finishes and
// frees what it holds instead of more work piling on. Over and Wait cost a clock read when the
// last reading is fresher than Poll. Its methods are safe for concurrent use.
type MemoryGuard struct {
	opts  GuardOptions
	start time.Time

	// The latest reading and its time (nanoseconds since start, 0: never read).
	over   atomic.Bool
	readAt atomic.Int64
	heap   atomic.Int64
	rss    atomic.Int64

	mu   sync.Mutex // one reading at a time; guards rssr
	rssr *sysstat.RSSReader

	waits, crossings, frees atomic.Uint64
	waited                  atomic.Int64 // nanoseconds
}

// NewMemoryGuard builds a guard. Close releases the resident-set reader it keeps open.
func NewMemoryGuard(opts GuardOptions) (*MemoryGuard, error) {
	switch {
	case opts.HeapBytes < 0 || opts.RSSBytes < 0:
		return nil, fmt.Errorf("optimize: MemoryGuard: negative limit (heap %d, RSS %d)", opts.HeapBytes, opts.RSSBytes)
	case opts.HeapBytes == 0 && opts.RSSBytes == 0:
		return nil, errors.New("optimize: MemoryGuard: no limit set (HeapBytes or RSSBytes)")
	case opts.Poll < 0:
		return nil, fmt.Errorf("optimize: MemoryGuard: negative Poll %v", opts.Poll)
	}
	if opts.Poll == 0 {
		opts.Poll = DefaultGuardPoll
	}
	g := &MemoryGuard{opts: opts, start: time.Now()}
	if g.opts.Probe == nil {
		if opts.RSSBytes > 0 {
			r, err := sysstat.OpenRSS(os.Getpid())
			if err != nil {
				return nil, fmt.Errorf("optimize: MemoryGuard: %w", err)
			}
			g.rssr = r
		}
		g.opts.Probe = g.probe
	}
	return g, nil
}

// probe is the default Probe; it runs under g.mu.
func (g *MemoryGuard) probe() Reading {
	var r Reading
	if g.opts.HeapBytes > 0 {
		r.Heap = sysstat.HeapBytes()
	}
	if g.rssr != nil {
		r.RSS, _ = g.rssr.Read() // unreadable: 0, never over
	}
	return r
}

func (g *MemoryGuard) isOver(r Reading) bool {
	return (g.opts.HeapBytes > 0 && r.Heap > g.opts.HeapBytes) || (g.opts.RSSBytes > 0 && r.RSS > g.opts.RSSBytes)
}

// now is the time since the guard started, at least 1 (0 means never read).
func (g *MemoryGuard) now() int64 { return max(1, int64(time.Since(g.start))) }

// Over reports whether memory is over a limit, by a reading at most Poll old.
func (g *MemoryGuard) Over() bool {
	if t := g.readAt.Load(); t != 0 && g.now()-t < int64(g.opts.Poll) {
		return g.over.Load()
	}
	return g.refresh()
}

// refresh reads the probe (unless another caller just did) and returns whether memory is
// over a limit.
func (g *MemoryGuard) refresh() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.readAt.Load(); t != 0 && g.now()-t < int64(g.opts.Poll) {
		return g.over.Load()
	}
	r := g.opts.Probe()
	over := g.isOver(r)
	if over && !g.over.Load() {
		g.crossings.Add(1)
		if g.opts.FreeOnCross {
			g.frees.Add(1)
			debug.FreeOSMemory()
			r = g.opts.Probe()
			over = g.isOver(r)
		}
	}
	g.heap.Store(r.Heap)
	g.rss.Store(r.RSS)
	g.over.Store(over)
	g.readAt.Store(g.now())
	return over
}

// Wait returns at once while memory is under the limits; while it is over, it waits, looking
// again every Poll, until memory is back under them (nil) or ctx ends (ctx's error).
func (g *MemoryGuard) Wait(ctx context.Context) error {
	if !g.Over() {
		return nil
	}
	g.waits.Add(1)
	t0 := time.Now()
	defer func() { g.waited.Add(int64(time.Since(t0))) }()
	t := time.NewTimer(g.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if !g.Over() {
			return nil
		}
		t.Reset(g.opts.Poll)
	}
}

// GuardStats are a MemoryGuard's counters since it was built, and its latest reading.
type GuardStats struct {
	// Waits counts the Wait calls that found memory over a limit and waited; Waited is their
	// total time.
	Waits  uint64
	Waited time.Duration
	// Crossings counts the readings over a limit that followed one under it (or none);
	// Frees the debug.FreeOSMemory calls FreeOnCross made.
	Crossings, Frees uint64
	// Last is the latest reading, Over whether it was over a limit.
	Last Reading
	Over bool
}

// Stats returns the counters.
func (g *MemoryGuard) Stats() GuardStats {
	return GuardStats{
		Waits: g.waits.Load(), Waited: time.Duration(g.waited.Load()),
		Crossings: g.crossings.Load(), Frees: g.frees.Load(),
		Last: Reading{Heap: g.heap.Load(), RSS: g.rss.Load()}, Over: g.over.Load(),
	}
}

// Close releases the resident-set reader. The guard must not be used after Close.
func (g *MemoryGuard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rssr != nil {
		err := g.rssr.Close()
		g.rssr = nil
		return err
	}
	return nil
}
