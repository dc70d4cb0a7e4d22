package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/gonomaly/gonomaly/stat"
)

// LeakReport is what Analyze finds over the snapshots kept.
type LeakReport struct {
	Snapshots int           `json:"snapshots"` // compared
	Window    time.Duration `json:"window_ns"` // from the oldest to the newest
	// HeapLive is the newest live heap, and HeapGrowth its growth since the oldest.
	HeapLive   int64 `json:"heap_live_bytes"`
	HeapGrowth int64 `json:"heap_growth_bytes"`
	// GoroutineCount is the newest number of goroutines, GoroutineGrowth its growth.
	GoroutineCount  int `json:"goroutines"`
	GoroutineGrowth int `json:"goroutine_growth"`
	// Sites are the allocation sites whose in-use bytes grew, most first, at most TopSites
	// (estimates from the sampled heap profile).
	Sites []SiteGrowth `json:"sites"`
	// Goroutines are the functions whose goroutines grew in number, most first, at most
	// TopSites.
	Goroutines []GoroutineGrowth `json:"goroutine_functions"`
	// MemoryLeak: the live heap or a site grew by MinGrowthBytes, sustained. GoroutineLeak:
	// the goroutines, in all or of one function, grew by MinGoroutineGrowth, sustained.
	MemoryLeak    bool `json:"memory_leak"`
	GoroutineLeak bool `json:"goroutine_leak"`
	Suspected     bool `json:"suspected"` // either
	// HeapTrend and GoroutineTrend are the Mann-Kendall tests of the two totals (zero with
	// fewer than MinLeakSnapshots snapshots).
	HeapTrend      stat.Trend `json:"-"`
	GoroutineTrend stat.Trend `json:"-"`
}

// SiteGrowth is one allocation site's memory in the newest snapshot and its growth since
// the oldest.
type SiteGrowth struct {
	Site          string `json:"site"`  // "pkg.Func file.go:line"
	Bytes         int64  `json:"bytes"` // in use now (estimated)
	Objects       int64  `json:"objects"`
	GrowthBytes   int64  `json:"growth_bytes"`
	GrowthObjects int64  `json:"growth_objects"`
	Sustained     bool   `json:"sustained"` // the growth passes the sustained test with MinGrowthBytes
}

// GoroutineGrowth is one function's goroutines in the newest snapshot and their growth.
type GoroutineGrowth struct {
	Site      string `json:"function"` // the function the goroutines run
	Count     int    `json:"count"`
	Growth    int    `json:"growth"`
	Waiting   string `json:"waiting_at"` // where one of them was, innermost frame outside the runtime
	Sustained bool   `json:"sustained"`  // the growth passes the sustained test with MinGoroutineGrowth
}

// Analyze compares the snapshots kept. With fewer than MinLeakSnapshots it reports the
// growth so far and suspects nothing.
func (d *LeakDetector) Analyze() LeakReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	snaps := d.snapshots()
	var r LeakReport
	r.Snapshots = len(snaps)
	if len(snaps) == 0 {
		return r
	}
	first, last := snaps[0], snaps[len(snaps)-1]
	r.Window = last.at.Sub(first.at)
	r.HeapLive, r.HeapGrowth = last.heapLive, last.heapLive-first.heapLive
	r.GoroutineCount, r.GoroutineGrowth = last.goroutines, last.goroutines-first.goroutines
	series := make([]float64, len(snaps))

	for i, s := range snaps {
		series[i] = float64(s.heapLive)
	}
	r.HeapTrend = trend(series)
	r.MemoryLeak = d.sustained(series, r.HeapTrend, float64(d.opts.MinGrowthBytes))
	for _, s := range d.siteGrowth(first.sites, last.sites) {
		for i, snap := range snaps {
			series[i] = float64(findSite(snap.sites, s.id).bytes)
		}
		g := SiteGrowth{Site: d.sites[s.id], Bytes: s.bytes, Objects: s.objects, GrowthBytes: s.growth, GrowthObjects: s.growthObjects}
		g.Sustained = d.sustained(series, trend(series), float64(d.opts.MinGrowthBytes))
		r.MemoryLeak = r.MemoryLeak || g.Sustained
		r.Sites = append(r.Sites, g)
	}

	for i, s := range snaps {
		series[i] = float64(s.goroutines)
	}
	r.GoroutineTrend = trend(series)
	r.GoroutineLeak = d.sustained(series, r.GoroutineTrend, float64(d.opts.MinGoroutineGrowth))
	for _, g := range d.groupGrowth(first.groups, last.groups) {
		for i, snap := range snaps {
			series[i] = float64(findGroup(snap.groups, g.id).count)
		}
		gg := GoroutineGrowth{Site: d.funcs[g.id], Count: g.count, Growth: g.growth, Waiting: d.waiting[g.id]}
		gg.Sustained = d.sustained(series, trend(series), float64(d.opts.MinGoroutineGrowth))
		r.GoroutineLeak = r.GoroutineLeak || gg.Sustained
		r.Goroutines = append(r.Goroutines, gg)
	}
	r.Suspected = r.MemoryLeak || r.GoroutineLeak
	return r
}

// trend is the Mann-Kendall test of series, or the zero Trend (no NaN, which JSON cannot
// hold) when it has fewer than MinLeakSnapshots values.
func trend(series []float64) stat.Trend {
	if len(series) < MinLeakSnapshots {
		return stat.Trend{}
	}
	return stat.MannKendall(series)
}

// snapshots is the snapshots kept, oldest first.
func (d *LeakDetector) snapshots() []leakSnapshot {
	if d.count < len(d.ring) {
		return d.ring[:d.count]
	}
	return append(slices.Clone(d.ring[d.next:]), d.ring[:d.next]...)
}

// sustained is the test of a leak on a series, oldest first: at least MinLeakSnapshots
// values, a rise of at least minGrowth from the first to the last, an upward Mann-Kendall
// trend at Alpha, and at least a fifth of the rise in each half (so that one step, such as
// a cache filling once, is not a leak).
func (d *LeakDetector) sustained(series []float64, t stat.Trend, minGrowth float64) bool {
	n := len(series)
	if n < MinLeakSnapshots {
		return false
	}
	first, mid, last := series[0], series[n/2], series[n-1]
	growth := last - first
	return growth >= minGrowth && t.Z > 0 && t.P < d.opts.Alpha &&
		mid-first >= growth/5 && last-mid >= growth/5
}

type siteDelta struct {
	siteAmount
	growth, growthObjects int64
}

// siteGrowth is the sites of last that grew since first, most first, at most TopSites.
func (d *LeakDetector) siteGrowth(first, last []siteAmount) []siteDelta {
	var out []siteDelta
	for _, s := range last {
		f := findSite(first, s.id)
		if g := s.bytes - f.bytes; g > 0 {
			out = append(out, siteDelta{s, g, s.objects - f.objects})
		}
	}
	slices.SortFunc(out, func(a, b siteDelta) int { return cmp.Compare(b.growth, a.growth) })
	return out[:min(len(out), d.opts.TopSites)]
}

type groupDelta struct {
	groupCount
	growth int
}

// groupGrowth is the functions of last whose goroutines grew since first, most first, at
// most TopSites.
func (d *LeakDetector) groupGrowth(first, last []groupCount) []groupDelta {
	var out []groupDelta
	for _, g := range last {
		if n := g.count - findGroup(first, g.id).count; n > 0 {
			out = append(out, groupDelta{g, n})
		}
	}
	slices.SortFunc(out, func(a, b groupDelta) int { return cmp.Compare(b.growth, a.growth) })
	return out[:min(len(out), d.opts.TopSites)]
}

func findSite(s []siteAmount, id int32) siteAmount {
	if i, ok := slices.BinarySearchFunc(s, id, func(a siteAmount, id int32) int { return cmp.Compare(a.id, id) }); ok {
		return s[i]
	}
	return siteAmount{}
}

func findGroup(g []groupCount, id int32) groupCount {
	if i, ok := slices.BinarySearchFunc(g, id, func(a groupCount, id int32) int { return cmp.Compare(a.id, id) }); ok {
		return g[i]
	}
	return groupCount{}
}

// Conditions analyzes the snapshots and reports the two leak rules, firing or not, stamped
// now: "memory_leak" (value: the live heap's growth in bytes) and "goroutine_leak" (value:
// the goroutines' growth), naming the sites that grew most. The severity grows with the
// growth: up to twice the threshold medium, up to four times high, beyond critical.
func (d *LeakDetector) Conditions(now time.Time) []Condition {
	r := d.Analyze()
	mem := Condition{Key: "memory_leak", Rule: "memory_leak", Metric: "heap_live_growth_bytes", Time: now,
		Value: float64(r.HeapGrowth), Threshold: float64(d.opts.MinGrowthBytes)}
	gor := Condition{Key: "goroutine_leak", Rule: "goroutine_leak", Metric: "goroutines_growth", Time: now,
		Value: float64(r.GoroutineGrowth), Threshold: float64(d.opts.MinGoroutineGrowth)}
	if r.Snapshots < MinLeakSnapshots {
		note := fmt.Sprintf("%d of the %d snapshots needed to judge a leak", r.Snapshots, MinLeakSnapshots)
		mem.Description, gor.Description = note, note
		return []Condition{mem, gor}
	}

	mem.Description = fmt.Sprintf("live heap %s, %s over %v (%d snapshots, Mann-Kendall p = %.2g)",
		mib(r.HeapLive), signedMiB(r.HeapGrowth), r.Window.Round(time.Second), r.Snapshots, r.HeapTrend.P)
	for i, s := range r.Sites[:min(3, len(r.Sites))] {
		if i == 0 {
			mem.Description += "; grew most, estimated from the heap profile: "
		} else {
			mem.Description += ", "
		}
		mem.Description += fmt.Sprintf("%s %s to %s", s.Site, signedMiB(s.GrowthBytes), mib(s.Bytes))
	}
	if r.MemoryLeak {
		mem.Firing = true
		growth := r.HeapGrowth
		if len(r.Sites) > 0 && r.Sites[0].Sustained {
			growth = max(growth, r.Sites[0].GrowthBytes)
		}
		mem.Severity = ladder(float64(growth) / float64(d.opts.MinGrowthBytes))
		mem.Title = fmt.Sprintf("memory grows steadily: %s over %v", signedMiB(growth), r.Window.Round(time.Second))
		if len(r.Sites) > 0 {
			mem.Title += ", most at " + r.Sites[0].Site
			mem.Labels = map[string]string{"site": r.Sites[0].Site}
		}
		mem.Actions = []string{
			"look at what the named sites keep: a map or slice that only grows, a cache without a bound, timers or tickers never stopped",
			"compare two heap profiles: go tool pprof -diff_base OLD.pb.gz NEW.pb.gz, each from /debug/pprof/heap a few minutes apart",
			"bound what grows (an LRU, a TTL) or release it when its request ends",
		}
	}

	gor.Description = fmt.Sprintf("%d goroutines, %+d over %v (%d snapshots, Mann-Kendall p = %.2g)",
		r.GoroutineCount, r.GoroutineGrowth, r.Window.Round(time.Second), r.Snapshots, r.GoroutineTrend.P)
	for i, g := range r.Goroutines[:min(3, len(r.Goroutines))] {
		if i == 0 {
			gor.Description += "; grew most: "
		} else {
			gor.Description += ", "
		}
		gor.Description += fmt.Sprintf("%s %+d to %d", g.Site, g.Growth, g.Count)
		if g.Waiting != "" {
			gor.Description += " (one waits at " + g.Waiting + ")"
		}
	}
	if r.GoroutineLeak {
		gor.Firing = true
		growth := r.GoroutineGrowth
		if len(r.Goroutines) > 0 && r.Goroutines[0].Sustained {
			growth = max(growth, r.Goroutines[0].Growth)
		}
		gor.Severity = ladder(float64(growth) / float64(d.opts.MinGoroutineGrowth))
		gor.Title = fmt.Sprintf("goroutines pile up: %+d over %v", growth, r.Window.Round(time.Second))
		if len(r.Goroutines) > 0 {
			gor.Title += ", most running " + r.Goroutines[0].Site
			gor.Labels = map[string]string{"site": r.Goroutines[0].Site}
		}
		gor.Actions = []string{
			"see where they wait: go tool pprof -traces http://HOST/debug/pprof/goroutine",
			"give every goroutine started there a way to end: a context it watches, a channel that is closed, a timeout on its I/O",
			"bound the fan-out: a worker pool or a semaphore rather than a goroutine per item",
		}
	}
	return []Condition{mem, gor}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func signedMiB(b int64) string { return fmt.Sprintf("%+.1f MiB", float64(b)/(1<<20)) }
