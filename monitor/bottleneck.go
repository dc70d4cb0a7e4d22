package monitor

import (
	"fmt"
	"slices"
	"time"
)

// Figures are what is known of one operation when its bottleneck is judged: its time and
// memory, and the state of the process around it. A field left at its zero value is unknown
// and its rules do not apply.
type Figures struct {
	Op string
	// Duration is the operation's time (a p99 for a service, one run for a batch job), and
	// Budget what it should take (a threshold); with no Budget the time rules do not apply.
	Duration, Budget time.Duration
	// AllocBytes is the memory the operation allocated (its growth).
	AllocBytes int64
	// CPUPercent is the process's CPU share in percent of one core, and Cores how many the
	// process may use (GOMAXPROCS).
	CPUPercent float64
	Cores      int
	// GCPercent is the share of the process's CPU the collector took.
	GCPercent float64
	// CacheHits of CacheLookups model cache lookups found the model (over the same span).
	CacheHits, CacheLookups int64
	// PoolInUse of PoolMax database connections are in use; PoolWaitsPerSecond is how often
	// a query waited for a connection.
	PoolInUse, PoolMax int
	PoolWaitsPerSecond float64
	// ErrorRate is the operation's failed share.
	ErrorRate float64
}

// Bottleneck is the likely cause of an operation's slowness or cost, from one rule.
type Bottleneck struct {
	Op       string   `json:"operation"`
	Cause    string   `json:"cause"` // cpu, gc, memory, database_pool, cache, waiting, errors
	Severity Severity `json:"severity"`
	Evidence string   `json:"evidence"`
	Actions  []string `json:"immediate_actions"`
}

// The limits of the bottleneck rules (docs/monitoring.md lists them with their reasons).
const (
	cpuBusy        = 0.90 // of every core the process may use
	cpuIdle        = 0.50 // below it, a slow operation is waiting, not computing
	gcHeavy        = 25.0 // percent of CPU in the collector
	memoryGrowthMB = 100.0
	poolFull       = 0.90
	cacheCold      = 0.50
	errorsHigh     = 0.05
)

// Diagnose applies the bottleneck rules to f and returns every cause that holds, the most
// severe first; none when the operation is within its budget and nothing else stands out.
// The rules, in the order they are checked:
//
//   - cpu: the process uses at least 90 % of the cores it may use;
//   - gc: the collector takes at least 25 % of the process's CPU;
//   - memory: the operation allocated at least 100 MB;
//   - database_pool: the pool is at least 90 % in use, or queries wait for a connection;
//   - cache: fewer than half of the model cache lookups hit;
//   - waiting: the operation is over its budget while the CPU is less than half busy, so its
//     time goes to waiting (the database, the network, a lock) rather than computing;
//   - errors: at least 5 % of the operations fail.
//
// A rule's severity grows with how far past its limit the figure is; an operation over its
// budget raises the severity of the causes that explain time (cpu, gc, database_pool,
// waiting) by one step.
func Diagnose(f Figures) []Bottleneck {
	var out []Bottleneck
	add := func(cause string, sev Severity, evidence string, actions ...string) {
		out = append(out, Bottleneck{Op: f.Op, Cause: cause, Severity: sev, Evidence: evidence, Actions: actions})
	}
	slow := f.Budget > 0 && f.Duration > f.Budget
	timeSev := func(s Severity) Severity {
		if slow && s < SeverityCritical {
			return s + 1
		}
		return s
	}
	cores := float64(max(f.Cores, 1))
	if busy := f.CPUPercent / (100 * cores); busy >= cpuBusy {
		add("cpu", timeSev(SeverityMedium),
			fmt.Sprintf("the process uses %.0f %% of its %d cores", 100*busy, max(f.Cores, 1)),
			"add cores or instances (scale out behind the same store and cache)",
			"lower the detector's cost: fewer n_estimators or a smaller max_samples for isolation_forest, fewer n_neighbors for knn and local_outlier_factor",
			"send rows in batches: one request of 100 rows costs far less than 100 requests of one")
	}
	if f.GCPercent >= gcHeavy {
		add("gc", timeSev(ladder(f.GCPercent/gcHeavy)),
			fmt.Sprintf("the garbage collector takes %.0f %% of the CPU", f.GCPercent),
			"give the heap room: raise GOGC (e.g. 200) or set GOMEMLIMIT near the memory the service may use",
			"look for allocation in the hot path: go tool pprof -sample_index=alloc_space http://HOST/debug/pprof/heap")
	}
	if mb := float64(f.AllocBytes) / 1e6; mb >= memoryGrowthMB {
		add("memory", ladder(mb/memoryGrowthMB),
			fmt.Sprintf("%s allocated %.0f MB", opName(f.Op), mb),
			"process the data in chunks: stream files (gonomaly detect reads CSV and Parquet in chunks) rather than loading them whole",
			"reduce the model's memory: a smaller max_samples, or fewer training rows for knn and local_outlier_factor (they keep every row)",
			"check the memory budget (serve --memory-budget) so one request cannot take the machine")
	}
	util := 0.0
	if f.PoolMax > 0 {
		util = float64(f.PoolInUse) / float64(f.PoolMax)
	}
	if util >= poolFull || f.PoolWaitsPerSecond > 0 {
		add("database_pool", timeSev(SeverityMedium),
			fmt.Sprintf("the database pool is %.0f %% in use, %.2g waits a second", 100*util, f.PoolWaitsPerSecond),
			"raise the pool's connections (gonomaly serve --db-pool-size and --db-max-overflow), within the database server's max_connections",
			"look for long transactions and slow statements (gonomaly performance monitor --status shows the slowest)",
			"batch result writes: they already go through the write-behind queue; check its size and flush interval")
	}
	if hit := float64(f.CacheHits) / float64(f.CacheLookups); f.CacheLookups > 0 && hit < cacheCold {
		add("cache", SeverityLow,
			fmt.Sprintf("only %.0f %% of %d model cache lookups hit", 100*hit, f.CacheLookups),
			"give the cache more memory or a longer TTL so models stay decoded",
			"check Redis is reachable (a degraded cache serves only from memory and the store)")
	}
	if slow && f.CPUPercent > 0 && f.CPUPercent/(100*cores) < cpuIdle {
		add("waiting", timeSev(ladder(float64(f.Duration)/float64(f.Budget))),
			fmt.Sprintf("%s took %s against a budget of %s while the CPU was %.0f %% busy", opName(f.Op), f.Duration, f.Budget, f.CPUPercent/cores),
			"the time goes to waiting, not computing: check the database (slow statements, pool waits) and the network to it",
			"profile blocking: go tool pprof http://HOST/debug/pprof/block (needs runtime.SetBlockProfileRate)")
	}
	if f.ErrorRate >= errorsHigh {
		add("errors", ladder(f.ErrorRate/errorsHigh),
			fmt.Sprintf("%.1f %% of %s fail", 100*f.ErrorRate, opName(f.Op)),
			"read the service log for the failing requests' causes",
			"check the clients' input: 4xx answers are not counted, so these are the service's own failures")
	}
	slices.SortStableFunc(out, func(a, b Bottleneck) int { return int(b.Severity) - int(a.Severity) })
	return out
}

// ladder turns how many times past its limit a figure is into a severity: up to 2x medium,
// up to 4x high, beyond critical.
func ladder(times float64) Severity {
	switch {
	case times >= 4:
		return SeverityCritical
	case times >= 2:
		return SeverityHigh
	default:
		return SeverityMedium
	}
}

func opName(op string) string {
	if op == "" {
		return "the operation"
	}
	return op
}

// BottleneckConditions turns a Diagnose result into conditions for the alert manager: one per
// cause of op that is checked (every rule's key, "bottleneck/<cause>/<op>", firing or not, so
// that a cause that goes away resolves its alert).
func BottleneckConditions(now time.Time, op string, found []Bottleneck) []Condition {
	causes := []string{"cpu", "gc", "memory", "database_pool", "cache", "waiting", "errors"}
	out := make([]Condition, 0, len(causes))
	for _, c := range causes {
		cond := Condition{Key: "bottleneck/" + c + "/" + op, Rule: "bottleneck_" + c, Metric: "bottleneck", Time: now,
			Labels: map[string]string{"operation": op, "cause": c}}
		for _, b := range found {
			if b.Cause == c {
				cond.Firing, cond.Severity, cond.Actions = true, b.Severity, b.Actions
				cond.Title = fmt.Sprintf("%s bottleneck in %s", c, opName(op))
				cond.Description = b.Evidence
				cond.Value = 1
				break
			}
		}
		out = append(out, cond)
	}
	return out
}
