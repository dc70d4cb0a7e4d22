package monitor

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"time"
)

// LeakOptions tune a LeakDetector. The zero value gives the defaults; negative values are
// an error.
type LeakOptions struct {
	// MinGrowthBytes is the growth of the live heap, or of one allocation site, over the
	// snapshots kept that counts as a leak when it is sustained (default 32 MiB).
	MinGrowthBytes int64
	// MinGoroutineGrowth is the growth in goroutines, in all or started by one function, that
	// counts as a leak when it is sustained (default 100).
	MinGoroutineGrowth int
	// Snapshots is how many snapshots are kept and compared, oldest to newest (default 10,
	// at least MinLeakSnapshots). Taken every minute, the default compares ten minutes.
	Snapshots int
	// TopSites is how many allocation sites and goroutine functions a report lists, those
	// that grew most first (default 10).
	TopSites int
	// Alpha is the significance level of the Mann-Kendall test that tells a sustained rise
	// from noise (default 0.05).
	Alpha float64
}

// The defaults of LeakOptions, and the fewest snapshots Analyze judges: with fewer, even a
// series that rises at every step is not significant at 5 % (Mann-Kendall, n = 4: p = 0.089).
const (
	DefaultLeakGrowthBytes     = 32 << 20
	DefaultLeakGoroutineGrowth = 100
	DefaultLeakSnapshots       = 10
	DefaultLeakTopSites        = 10
	MinLeakSnapshots           = 5
)

// LeakDetector finds memory and goroutine leaks in the running process (the tuning guide's
// MemoryLeakDetector, which compares tracemalloc snapshots). Each Snapshot records:
//
//   - the live heap, exactly: the bytes the last garbage collection marked live
//     (runtime/metrics /gc/heap/live:bytes);
//   - the heap in use by allocation site, from the runtime's heap profile
//     (runtime.MemProfile). The profile is a sample, one allocation per
//     runtime.MemProfileRate bytes (512 KiB by default), scaled up to an estimate of the
//     whole as pprof does, so a site's bytes are an estimate; a site that leaks 32 MiB in
//     small objects is sampled some 64 times. The profile is as of the last completed
//     garbage collection. A site is the first frame of the allocating stack outside the
//     runtime and the standard library ("pkg.Func file.go:line"), else the first outside the
//     runtime, so a leak through append or bytes.Buffer is charged to its caller. The
//     detector's own allocations are left out;
//   - the goroutines, counted by the function each runs, from runtime.GoroutineProfile.
//
// Why by the function a goroutine runs, not by where it was created: the runtime's
// goroutine profile gives each goroutine's stack, not its creator (only the text of
// runtime.Stack has "created by" lines, and producing it stops the world for the whole
// dump, while GoroutineProfile stops it only briefly). The outermost frame of a stack is the
// function the go statement started (for go f(x), f: the runtime hides the wrapper the
// compiler makes for the arguments), which names its creator for a closure: "pkg.F.func1"
// is defined in F. As for memory, frames of the standard library are passed over when a
// frame of the program's own is inside them, so goroutines started through
// sync.WaitGroup.Go, or serving net/http, are grouped by the program's function they run.
// Stacks deeper than 32 frames lose their outer frames in the profile; they are grouped by
// their outermost recorded frame, marked "(truncated)".
//
// Analyze compares the snapshots kept: growth must be sustained to count, not one spike or
// one step: over at least MinLeakSnapshots snapshots, the series rises by the threshold
// from the oldest to the newest, the Mann-Kendall test finds an upward trend at Alpha, and
// each half of the window carries at least a fifth of the growth.
//
// A MemProfileRate of 0 turns the heap profile off: Snapshot then finds no sites, and only
// the live heap is judged.
//
// Cost: Snapshot reads profiles whose size follows the number of distinct allocation stacks
// and goroutines, not the heap's size: about 1.1 to 1.6 ms with 100 MB live in some 1600
// heap profile records and 1000 goroutines (BenchmarkLeakSnapshot, 2 cores of an AMD EPYC),
// with 1004 allocations (82 KB), one per goroutine, made by runtime.GoroutineProfile. Once a
// minute that is some 0.002 % of a core. Its methods are safe for concurrent use.
type LeakDetector struct {
	opts LeakOptions

	mu    sync.Mutex
	ring  []leakSnapshot // Snapshots slots; the newest at (next-1) mod len
	next  int
	count int // snapshots taken

	sites   []string         // interned allocation sites, by id
	siteIDs map[string]int32 // and their ids
	funcs   []string         // interned goroutine functions
	funcIDs map[string]int32
	waiting []string // where a goroutine of each function was last seen waiting
	frames  map[uintptr][]frame
	acc     []siteAmount // per site id, while a snapshot aggregates
	gacc    []int        // per function id
	mem     []runtime.MemProfileRecord
	gor     []runtime.StackRecord
	live    []metrics.Sample
}

// leakSnapshot is one Snapshot.
type leakSnapshot struct {
	at         time.Time
	heapLive   int64
	goroutines int
	sites      []siteAmount // sites with memory in use, by id
	groups     []groupCount // functions with goroutines, by id
}

type siteAmount struct {
	id             int32
	bytes, objects int64
}

type groupCount struct {
	id    int32
	count int
}

// frame is one frame of a stack, as Snapshot classifies it.
type frame struct {
	fn      string
	site    string // "fn file:line"
	runtime bool   // in package runtime (or the runtime's internal packages)
	std     bool   // in the standard library
	self    bool   // the leak detector itself
}

// NewLeakDetector makes a detector with opts; it takes no snapshot yet.
func NewLeakDetector(opts LeakOptions) (*LeakDetector, error) {
	switch {
	case opts.MinGrowthBytes < 0, opts.MinGoroutineGrowth < 0, opts.TopSites < 0:
		return nil, fmt.Errorf("monitor: leak options %+v: negative values", opts)
	case opts.Snapshots < 0 || opts.Snapshots > 0 && opts.Snapshots < MinLeakSnapshots:
		return nil, fmt.Errorf("monitor: leak options: Snapshots %d: want 0 (default %d) or at least %d", opts.Snapshots, DefaultLeakSnapshots, MinLeakSnapshots)
	case opts.Alpha < 0 || opts.Alpha >= 1:
		return nil, fmt.Errorf("monitor: leak options: Alpha %v: want 0 (default 0.05) or in (0, 1)", opts.Alpha)
	}
	if opts.MinGrowthBytes == 0 {
		opts.MinGrowthBytes = DefaultLeakGrowthBytes
	}
	if opts.MinGoroutineGrowth == 0 {
		opts.MinGoroutineGrowth = DefaultLeakGoroutineGrowth
	}
	if opts.Snapshots == 0 {
		opts.Snapshots = DefaultLeakSnapshots
	}
	if opts.TopSites == 0 {
		opts.TopSites = DefaultLeakTopSites
	}
	if opts.Alpha == 0 {
		opts.Alpha = 0.05
	}
	return &LeakDetector{
		opts: opts, ring: make([]leakSnapshot, opts.Snapshots),
		siteIDs: map[string]int32{}, funcIDs: map[string]int32{}, frames: map[uintptr][]frame{},
		live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}, nil
}

// selfPrefix starts the names of the detector's methods, whose allocations Snapshot leaves
// out (they are bounded by Snapshots).
var selfPrefix = reflect.TypeFor[LeakDetector]().PkgPath() + ".(*LeakDetector)."

// Snapshot records the live heap, the heap in use by allocation site and the goroutines by
// function, replacing the oldest snapshot once Snapshots are kept.
func (d *LeakDetector) Snapshot() {
	d.mu.Lock()
	defer d.mu.Unlock()
	slot := &d.ring[d.next]
	slot.at = time.Now()
	metrics.Read(d.live)
	slot.heapLive = 0
	if v := d.live[0].Value; v.Kind() == metrics.KindUint64 {
		slot.heapLive = int64(v.Uint64())
	}
	slot.sites = d.heapSites(slot.sites[:0])
	slot.goroutines, slot.groups = d.goroutineGroups(slot.groups[:0])
	d.next = (d.next + 1) % len(d.ring)
	d.count++
}

// heapSites appends to dst the scaled in-use bytes and objects of every allocation site.
func (d *LeakDetector) heapSites(dst []siteAmount) []siteAmount {
	n, ok := runtime.MemProfile(d.mem, false)
	for !ok {
		d.mem = make([]runtime.MemProfileRecord, n+n/4+64)
		n, ok = runtime.MemProfile(d.mem, false)
	}
	rate := int64(runtime.MemProfileRate)
	for i := range d.acc {
		d.acc[i] = siteAmount{}
	}
	for i := range d.mem[:n] {
		r := &d.mem[i]
		objects, bytes := scaleHeapSample(r.InUseObjects(), r.InUseBytes(), rate)
		if bytes <= 0 {
			continue
		}
		id, ok := d.siteOf(r.Stack())
		if !ok {
			continue
		}
		for int(id) >= len(d.acc) {
			d.acc = append(d.acc, siteAmount{})
		}
		d.acc[id].bytes += bytes
		d.acc[id].objects += objects
	}
	for id, a := range d.acc {
		if a.bytes > 0 {
			dst = append(dst, siteAmount{id: int32(id), bytes: a.bytes, objects: a.objects})
		}
	}
	return dst
}

// scaleHeapSample estimates the objects and bytes of which a heap profile record's sampled
// ones are a sample: an allocation of size s is sampled with probability 1 - exp(-s/rate)
// (runtime/pprof's scaleHeapSample).
func scaleHeapSample(count, size, rate int64) (int64, int64) {
	if count == 0 || size == 0 {
		return 0, 0
	}
	if rate <= 1 {
		return count, size
	}
	avg := float64(size) / float64(count)
	scale := 1 / (1 - math.Exp(-avg/float64(rate)))
	return int64(float64(count) * scale), int64(float64(size) * scale)
}

// siteOf is the id of the allocation site of stack (see LeakDetector), and false for the
// detector's own allocations.
func (d *LeakDetector) siteOf(stack []uintptr) (int32, bool) {
	fallback := ""
	for _, pc := range stack {
		for _, f := range d.framesOf(pc) {
			switch {
			case f.runtime:
				continue
			case f.self:
				return 0, false
			case f.std:
				if fallback == "" {
					fallback = f.site
				}
				continue
			}
			return d.intern(f.site), true
		}
	}
	if fallback == "" {
		fallback = "unknown"
	}
	return d.intern(fallback), true
}

func (d *LeakDetector) intern(site string) int32 {
	id, ok := d.siteIDs[site]
	if !ok {
		id = int32(len(d.sites))
		d.sites = append(d.sites, site)
		d.siteIDs[site] = id
	}
	return id
}

// framesOf is the frames of one return address, innermost first (more than one where
// calls were inlined), resolved once per address.
func (d *LeakDetector) framesOf(pc uintptr) []frame {
	if fs, ok := d.frames[pc]; ok {
		return fs
	}
	var fs []frame
	it := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := it.Next()
		if f.Function != "" || f.File != "" {
			fs = append(fs, frame{
				fn: f.Function, site: fmt.Sprintf("%s %s:%d", f.Function, shortFile(f.File), f.Line),
				runtime: isRuntime(f.Function), std: isStd(f.Function), self: strings.HasPrefix(f.Function, selfPrefix),
			})
		}
		if !more {
			break
		}
	}
	d.frames[pc] = fs
	return fs
}

// goroutineGroups counts the goroutines by the function they run, appending to dst.
func (d *LeakDetector) goroutineGroups(dst []groupCount) (int, []groupCount) {
	n, ok := runtime.GoroutineProfile(d.gor)
	for !ok {
		d.gor = make([]runtime.StackRecord, n+n/4+16)
		n, ok = runtime.GoroutineProfile(d.gor)
	}
	for i := range d.gacc {
		d.gacc[i] = 0
	}
	for i := range d.gor[:n] {
		fn, wait := d.goroutineFunc(d.gor[i].Stack())
		id, ok := d.funcIDs[fn]
		if !ok {
			id = int32(len(d.funcs))
			d.funcs = append(d.funcs, fn)
			d.funcIDs[fn] = id
			d.waiting = append(d.waiting, "")
			d.gacc = append(d.gacc, 0)
		}
		d.gacc[id]++
		d.waiting[id] = wait
	}
	for id, c := range d.gacc {
		if c > 0 {
			dst = append(dst, groupCount{id: int32(id), count: c})
		}
	}
	return n, dst
}

// goroutineFunc is the function a goroutine with stack runs (see LeakDetector), and where
// it is: its innermost frame outside the runtime.
func (d *LeakDetector) goroutineFunc(stack []uintptr) (fn, wait string) {
	complete := false      // the stack reaches runtime.goexit
	var outer, ours string // the outermost frames so far outside the runtime, and the standard library
	for _, pc := range stack {
		for _, f := range d.framesOf(pc) {
			if f.runtime {
				complete = complete || f.fn == "runtime.goexit"
				continue
			}
			if wait == "" {
				wait = f.site
			}
			outer = f.fn
			if !f.std {
				ours = f.fn
			}
		}
	}
	switch {
	case ours != "":
		fn = ours
	case outer != "":
		fn = outer
	default:
		return "runtime", wait
	}
	if !complete && len(stack) == len(runtime.StackRecord{}.Stack0) {
		fn += " (truncated)"
	}
	return fn, wait
}

// isRuntime reports whether fn is in package runtime or its internal packages.
func isRuntime(fn string) bool {
	return fn == "" || strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/")
}

// isStd reports whether fn is in the standard library: its import path's first element has
// no dot (and it is not main).
func isStd(fn string) bool {
	path := fn
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		path = path[:i]
	} else if i := strings.IndexByte(path, '.'); i >= 0 {
		path = path[:i] // "bytes.(*Buffer).grow": package bytes
	}
	first, _, _ := strings.Cut(path, "/")
	return first != "main" && !strings.Contains(first, ".")
}

// shortFile is the last two elements of a file's path: its package's directory and name.
func shortFile(file string) string {
	i := strings.LastIndexByte(file, '/')
	if i <= 0 {
		return file
	}
	if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
		return file[j+1:]
	}
	return file
}
