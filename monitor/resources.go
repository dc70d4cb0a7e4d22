package monitor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/store"
)

// Resources is one reading of the process and its machine.
type Resources struct {
	Time time.Time `json:"time"`
	// CPUPercent is the process's CPU time over the wall time since the previous reading, in
	// percent of one core (200 is two cores busy); 0 for the first reading.
	CPUPercent float64 `json:"cpu_percent"`
	RSS        int64   `json:"rss_bytes"`
	Heap       int64   `json:"heap_bytes"`
	HeapGoal   int64   `json:"heap_goal_bytes"`
	// GCPercent is the share of the process's CPU time the garbage collector took since the
	// previous reading, in percent.
	GCPercent float64 `json:"gc_cpu_percent"`
	// GCPauseMax is the longest stop-the-world pause of the collector since the previous
	// reading (0 when none), and GCPauses how many there were.
	GCPauseMax   time.Duration `json:"gc_pause_max_ns"`
	GCPauses     uint64        `json:"gc_pauses"`
	Goroutines   int           `json:"goroutines"`
	OpenFiles    int           `json:"open_files"`
	Load1        float64       `json:"load1"`
	MemAvailable int64         `json:"memory_available_bytes"`
	MemTotal     int64         `json:"memory_total_bytes"`
}

// SampleStore is what the sampler needs of the store.
type SampleStore interface {
	AddSamples(ctx context.Context, samples ...store.Sample) error
}

// SamplerOptions tune a ResourceSampler. The zero value gives the defaults.
type SamplerOptions struct {
	Interval     time.Duration // between readings (default 1 s)
	Window       int           // readings kept in memory (default 3600: an hour at 1 s)
	PersistEvery time.Duration // between writes to Store (default 1 min)
	Store        SampleStore   // where the means go; nil keeps the readings in memory only
	Labels       map[string]string
	Logger       *slog.Logger
}

// ResourceSampler reads the process's and the machine's resources on a goroutine of its own
// until Close. Its methods are safe for concurrent use.
type ResourceSampler struct {
	opts SamplerOptions
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	ring  []Resources // the last Window readings, oldest first once full
	next  int         // where the next reading goes
	full  bool
	total int // readings taken
}

// StartSampler takes a first reading at once and then one every Interval.
func StartSampler(opts SamplerOptions) *ResourceSampler {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Window <= 0 {
		opts.Window = 3600
	}
	if opts.PersistEvery <= 0 {
		opts.PersistEvery = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &ResourceSampler{opts: opts, stop: make(chan struct{}), done: make(chan struct{}), ring: make([]Resources, opts.Window)}
	go s.run()
	return s
}

func (s *ResourceSampler) run() {
	defer close(s.done)
	probe := sysstat.NewSampler()
	defer probe.Close()
	var prev sysstat.Sample
	var prevAt time.Time
	var pending []Resources // readings since the last write to the store
	lastPersist := time.Now()
	tick := time.NewTicker(s.opts.Interval)
	defer tick.Stop()
	for {
		now := time.Now()
		cur := probe.Sample()
		r := Resources{Time: now, RSS: cur.RSS, Heap: cur.Heap, HeapGoal: cur.HeapGoal, Goroutines: cur.Goroutines, OpenFiles: cur.OpenFiles,
			GCPauseMax: cur.GCPauseMax, GCPauses: cur.GCPauses}
		if !prevAt.IsZero() {
			if wall := now.Sub(prevAt); wall > 0 {
				r.CPUPercent = 100 * float64(cur.CPU-prev.CPU) / float64(wall)
			}
			if cpu := cur.CPU - prev.CPU; cpu > 0 {
				r.GCPercent = min(100, 100*float64(cur.GCCPU-prev.GCCPU)/float64(cpu))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.Interval)
		if sys, err := sysstat.SystemNow(ctx); err == nil {
			r.Load1, r.MemAvailable, r.MemTotal = sys.Load1, sys.MemAvailable, sys.MemTotal
		}
		cancel()
		prev, prevAt = cur, now
		s.add(r)
		if s.opts.Store != nil {
			pending = append(pending, r)
			if now.Sub(lastPersist) >= s.opts.PersistEvery {
				s.persist(pending)
				pending, lastPersist = pending[:0], now
			}
		}
		select {
		case <-s.stop:
			if s.opts.Store != nil && len(pending) > 0 {
				s.persist(pending)
			}
			return
		case <-tick.C:
		}
	}
}

func (s *ResourceSampler) add(r Resources) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring[s.next] = r
	s.total++
	s.next = (s.next + 1) % len(s.ring)
	if s.next == 0 {
		s.full = true
	}
}

// count is how many readings the sampler has taken.
func (s *ResourceSampler) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Latest returns the newest reading, and false before the first.
func (s *ResourceSampler) Latest() (Resources, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.full && s.next == 0 {
		return Resources{}, false
	}
	return s.ring[(s.next-1+len(s.ring))%len(s.ring)], true
}

// Window appends the readings kept in memory, oldest first, to dst and returns it.
func (s *ResourceSampler) Window(dst []Resources) []Resources {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		dst = append(dst, s.ring[s.next:]...)
	}
	return append(dst, s.ring[:s.next]...)
}

// Close stops the sampler after writing the readings not yet stored.
func (s *ResourceSampler) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// metricNames are the store's names of the persisted figures, in the order of values.
var metricNames = [...]string{
	"process_cpu_percent", "process_rss_bytes", "process_heap_bytes", "process_gc_cpu_percent",
	"process_goroutines", "process_open_files", "system_load1", "system_memory_available_bytes",
	"process_gc_pause_max_seconds",
}

func values(r Resources) [len(metricNames)]float64 {
	return [...]float64{r.CPUPercent, float64(r.RSS), float64(r.Heap), r.GCPercent,
		float64(r.Goroutines), float64(r.OpenFiles), r.Load1, float64(r.MemAvailable), r.GCPauseMax.Seconds()}
}

// persist writes the mean of each figure over rs to the store, stamped with the last
// reading's time. A failing store is logged, not retried: the next write carries on.
func (s *ResourceSampler) persist(rs []Resources) {
	var sum [len(metricNames)]float64
	var longest float64
	for _, r := range rs {
		for i, v := range values(r) {
			sum[i] += v
		}
		longest = max(longest, r.GCPauseMax.Seconds())
	}
	at := rs[len(rs)-1].Time
	samples := make([]store.Sample, len(metricNames))
	for i, name := range metricNames {
		v := sum[i] / float64(len(rs))
		if name == "process_gc_pause_max_seconds" {
			v = longest // the longest pause of the period, not a mean of maxima
		}
		samples[i] = store.Sample{Time: at, Name: name, Value: v, Labels: s.opts.Labels}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.opts.Store.AddSamples(ctx, samples...); err != nil {
		s.opts.Logger.Warn("monitor: storing resource samples failed", "err", err)
	}
}
