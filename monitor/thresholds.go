package monitor

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Thresholds are the limits the monitor judges operations and the process against: the
// fields of the seed's PerformanceThresholds, plus the error rate a service needs, with
// per-operation limits for what depends on the operation (a predict's p99 is not a batch
// fit's). A limit at zero is off. Check turns them into Conditions for the alert manager.
//
// How each is judged, over the Tracker's window:
//
//   - Execution time: an operation's p99 against WarningExecutionTime (severity high) and
//     MaxExecutionTime (critical).
//   - Error rate: an operation's failed share against WarningErrorRate and MaxErrorRate,
//     only once the window holds at least MinOperations of it (one failure in three calls
//     is not yet a 33 % error rate worth waking someone for).
//   - Throughput: an operation's operations a second against MinThroughput (high), only
//     for the operations named in Operations and only while they have traffic in the
//     window. A service's throughput follows its demand: a floor on every route would fire
//     forever on a quiet one (a health check, a metrics scrape), so a floor is set for the
//     operations that are expected to be busy. An operation with no traffic in the window
//     has no summary and so no condition: an idle service raises no throughput alert, and
//     an active one resolves through the alert manager's ResolveTimeout.
//   - Memory: the process's resident set in MB (2^20 bytes) against WarningMemoryMB and
//     MaxMemoryMB.
//   - CPU: the process's CPU in percent of the cores it may use (Cores, or GOMAXPROCS)
//     against WarningCPUPercent and MaxCPUPercent, so 95 means 95 % of all of them.
//
// Every comparison is strict: a value exactly at a limit is within it.
type Thresholds struct {
	// The p99 of an operation (the default of the operations not in Operations).
	WarningExecutionTime time.Duration
	MaxExecutionTime     time.Duration
	// The process's resident set, in MB.
	WarningMemoryMB float64
	MaxMemoryMB     float64
	// The process's CPU, in percent of the cores it may use.
	WarningCPUPercent float64
	MaxCPUPercent     float64
	// MinThroughput is the floor, in operations a second, of the operations in Operations
	// that do not set their own.
	MinThroughput float64
	// The failed share of an operation's calls, 0 to 1.
	WarningErrorRate float64
	MaxErrorRate     float64
	// MinOperations is how many operations the window must hold before the error rate is
	// judged.
	MinOperations int
	// Cores is how many cores the CPU limits are shares of; 0 is GOMAXPROCS when Check
	// runs.
	Cores int
	// Operations are the limits of named operations (named as the Tracker names them, e.g.
	// "POST /api/v1/detection/predict"). An operation listed here is judged by its entry
	// alone (zero fields are off); LoadThresholds fills the fields a file leaves out from
	// the top level. An operation not listed is judged by the top-level limits, without a
	// throughput floor.
	Operations map[string]OpThresholds
}

// OpThresholds are the limits of one operation, as in Thresholds; zero is off.
type OpThresholds struct {
	WarningExecutionTime time.Duration // p99
	MaxExecutionTime     time.Duration
	MinThroughput        float64 // operations a second
	WarningErrorRate     float64 // a share, 0 to 1
	MaxErrorRate         float64
}

// DefaultThresholds are the seed's PerformanceThresholds (warning 60 s and max 300 s of
// execution time, 2048 and 4096 MB of memory, 80 and 95 % CPU, 10 operations a second),
// with error-rate limits of 5 % (warning) and 25 % (critical) judged over at least 20
// operations, so that a single failure never crosses them.
func DefaultThresholds() Thresholds {
	return Thresholds{
		WarningExecutionTime: 60 * time.Second,
		MaxExecutionTime:     300 * time.Second,
		WarningMemoryMB:      2048,
		MaxMemoryMB:          4096,
		WarningCPUPercent:    80,
		MaxCPUPercent:        95,
		MinThroughput:        10,
		WarningErrorRate:     0.05,
		MaxErrorRate:         0.25,
		MinOperations:        20,
	}
}

// defaults are the top-level limits as an operation's.
func (t Thresholds) defaults() OpThresholds {
	return OpThresholds{
		WarningExecutionTime: t.WarningExecutionTime,
		MaxExecutionTime:     t.MaxExecutionTime,
		MinThroughput:        t.MinThroughput,
		WarningErrorRate:     t.WarningErrorRate,
		MaxErrorRate:         t.MaxErrorRate,
	}
}

// Op returns the limits that apply to operation name, and whether it is listed in
// Operations. For an operation not listed, MinThroughput is 0 (no floor).
func (t Thresholds) Op(name string) (OpThresholds, bool) {
	if o, ok := t.Operations[name]; ok {
		return o, true
	}
	o := t.defaults()
	o.MinThroughput = 0
	return o, false
}

// Validate reports the first limit that cannot be: a negative or non-finite value, an error
// rate above 1, a CPU share above 100 %, a warning above its maximum, an operation without a
// name. The error names the field as a thresholds file spells it.
func (t Thresholds) Validate() error {
	if err := t.validate(); err != nil {
		return fmt.Errorf("thresholds: %w", err)
	}
	return nil
}

func (t Thresholds) validate() error {
	if err := thrValidateOp("", t.defaults()); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"warning_memory_mb", t.WarningMemoryMB}, {"max_memory_mb", t.MaxMemoryMB},
		{"warning_cpu_percent", t.WarningCPUPercent}, {"max_cpu_percent", t.MaxCPUPercent},
		{"min_operations", float64(t.MinOperations)}, {"cores", float64(t.Cores)},
	} {
		if err := thrCheckLimit(f.name, f.v); err != nil {
			return err
		}
	}
	switch {
	case t.WarningCPUPercent > 100 || t.MaxCPUPercent > 100:
		return fmt.Errorf("warning_cpu_percent %v or max_cpu_percent %v is above 100 (they are shares of the cores the process may use)",
			t.WarningCPUPercent, t.MaxCPUPercent)
	case thrAbove(t.WarningMemoryMB, t.MaxMemoryMB):
		return fmt.Errorf("warning_memory_mb %v is above max_memory_mb %v", t.WarningMemoryMB, t.MaxMemoryMB)
	case thrAbove(t.WarningCPUPercent, t.MaxCPUPercent):
		return fmt.Errorf("warning_cpu_percent %v is above max_cpu_percent %v", t.WarningCPUPercent, t.MaxCPUPercent)
	}
	names := make([]string, 0, len(t.Operations))
	for name := range t.Operations {
		names = append(names, name)
	}
	slices.Sort(names) // the same error for the same thresholds
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			return errors.New("operations: an operation has an empty name")
		}
		if err := thrValidateOp(fmt.Sprintf("operations[%q].", name), t.Operations[name]); err != nil {
			return err
		}
	}
	return nil
}

func thrValidateOp(prefix string, o OpThresholds) error {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"warning_execution_time", o.WarningExecutionTime.Seconds()}, {"max_execution_time", o.MaxExecutionTime.Seconds()},
		{"min_throughput", o.MinThroughput},
		{"warning_error_rate", o.WarningErrorRate}, {"max_error_rate", o.MaxErrorRate},
	} {
		if err := thrCheckLimit(prefix+f.name, f.v); err != nil {
			return err
		}
	}
	switch {
	case o.WarningErrorRate > 1 || o.MaxErrorRate > 1:
		return fmt.Errorf("%swarning_error_rate %v or %smax_error_rate %v is above 1 (they are shares: 0.05 is 5 %%)",
			prefix, o.WarningErrorRate, prefix, o.MaxErrorRate)
	case thrAbove(float64(o.WarningExecutionTime), float64(o.MaxExecutionTime)):
		return fmt.Errorf("%swarning_execution_time %v is above %smax_execution_time %v",
			prefix, o.WarningExecutionTime, prefix, o.MaxExecutionTime)
	case thrAbove(o.WarningErrorRate, o.MaxErrorRate):
		return fmt.Errorf("%swarning_error_rate %v is above %smax_error_rate %v", prefix, o.WarningErrorRate, prefix, o.MaxErrorRate)
	}
	return nil
}

func thrCheckLimit(name string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%s is %v, want a finite number", name, v)
	case v < 0:
		return fmt.Errorf("%s is negative (%v)", name, v)
	}
	return nil
}

// thrAbove reports whether a warning limit is above its maximum, both being on.
func thrAbove(warning, max float64) bool { return warning > 0 && max > 0 && warning > max }

// Check judges ops (a Tracker's Summaries) and r (a sampler's latest reading; the zero
// Resources is no reading and is not judged) and returns one Condition per rule and subject
// it judged, firing or not, so that the alert manager raises what crosses a limit and
// resolves what came back: "latency/<op>", "error_rate/<op>", "throughput/<op>", "memory"
// and "cpu". A firing condition is high past a warning limit and critical past a maximum.
// Operations without traffic, error rates over fewer than MinOperations operations and
// rules whose limits are off give no condition (Thresholds tells why).
//
// The tracker counts its throughput over the whole window, so in the first window after a
// start it reads low; a caller judging throughput waits one window before the first Check.
func (t Thresholds) Check(now time.Time, ops []OpSummary, r Resources) []Condition {
	out := make([]Condition, 0, 3*len(ops)+2)
	for i := range ops {
		s := &ops[i]
		if s.Count <= 0 {
			continue
		}
		o, listed := t.Op(s.Name)
		if c, ok := thrCheckLatency(now, s, o); ok {
			out = append(out, c)
		}
		if s.Count >= int64(t.MinOperations) {
			if c, ok := thrCheckErrorRate(now, s, o); ok {
				out = append(out, c)
			}
		}
		if listed && o.MinThroughput > 0 {
			out = append(out, thrCheckThroughput(now, s, o))
		}
	}
	if r != (Resources{}) {
		if c, ok := t.checkMemory(now, r); ok {
			out = append(out, c)
		}
		if c, ok := t.checkCPU(now, r); ok {
			out = append(out, c)
		}
	}
	return out
}

// thrLevel is how far value is past a warning and a maximum limit (0 for off): the severity
// and the limit crossed, or the limit to stay under when none is.
func thrLevel(value, warning, max float64) (firing bool, sev Severity, limit float64) {
	switch {
	case max > 0 && value > max:
		return true, SeverityCritical, max
	case warning > 0 && value > warning:
		return true, SeverityHigh, warning
	case warning > 0:
		return false, SeverityInfo, warning
	default:
		return false, SeverityInfo, max
	}
}

// thrLimitsText describes the limits of a rule in the user's units.
func thrLimitsText(warning, max float64, show func(float64) string) string {
	switch {
	case warning > 0 && max > 0:
		return "warning " + show(warning) + ", max " + show(max)
	case warning > 0:
		return "warning " + show(warning)
	default:
		return "max " + show(max)
	}
}

// thrVerdict is "above the max limit of", "above the warning limit of" or "within".
func thrVerdict(firing bool, sev Severity) string {
	switch {
	case !firing:
		return "within"
	case sev == SeverityCritical:
		return "above the max limit of"
	default:
		return "above the warning limit of"
	}
}

func thrOpLabels(op string) map[string]string { return map[string]string{"operation": op} }

func thrShowDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

func thrShowSeconds(s float64) string { return thrShowDuration(time.Duration(s * 1e9)) }

func thrShowPercent(share float64) string { return strconv.FormatFloat(100*share, 'f', 1, 64) + " %" }

func thrCheckLatency(now time.Time, s *OpSummary, o OpThresholds) (Condition, bool) {
	if o.WarningExecutionTime <= 0 && o.MaxExecutionTime <= 0 {
		return Condition{}, false
	}
	p99 := s.P99.Seconds()
	firing, sev, limit := thrLevel(p99, o.WarningExecutionTime.Seconds(), o.MaxExecutionTime.Seconds())
	limits := thrLimitsText(o.WarningExecutionTime.Seconds(), o.MaxExecutionTime.Seconds(), thrShowSeconds)
	c := Condition{
		Key: "latency/" + s.Name, Rule: "latency", Firing: firing, Severity: sev,
		Title: fmt.Sprintf("%s is slow: p99 %s over %s", s.Name, thrShowDuration(s.P99), thrShowSeconds(limit)),
		Description: fmt.Sprintf("The p99 of %s over the last %s is %s, %s %s (%s); %d operations, mean %s, max %s.",
			s.Name, s.Window, thrShowDuration(s.P99), thrVerdict(firing, sev), thrShowSeconds(limit), limits,
			s.Count, thrShowDuration(s.Mean), thrShowDuration(s.Max)),
		Metric: "latency_p99_seconds", Value: p99, Threshold: limit, Labels: thrOpLabels(s.Name), Time: now,
	}
	if !firing {
		c.Title = fmt.Sprintf("%s p99 %s within %s", s.Name, thrShowDuration(s.P99), thrShowSeconds(limit))
		return c, true
	}
	c.Actions = []string{
		"Take a CPU profile while it is slow (go tool pprof on /debug/pprof/profile) and see where the time goes.",
	}
	if s.Rows > 0 {
		c.Actions = append(c.Actions, fmt.Sprintf(
			"Check the size of its requests: %.0f rows per operation on average; split large batches.", float64(s.Rows)/float64(s.Count)))
	}
	c.Actions = append(c.Actions,
		"Check what it waits on: the database's latency and connection pool, the model cache's hit rate (gonomaly performance monitor).",
		"If the load grew, add replicas or limit concurrent requests.")
	return c, true
}

func thrCheckErrorRate(now time.Time, s *OpSummary, o OpThresholds) (Condition, bool) {
	if o.WarningErrorRate <= 0 && o.MaxErrorRate <= 0 {
		return Condition{}, false
	}
	firing, sev, limit := thrLevel(s.ErrorRate, o.WarningErrorRate, o.MaxErrorRate)
	c := Condition{
		Key: "error_rate/" + s.Name, Rule: "error_rate", Firing: firing, Severity: sev,
		Title: fmt.Sprintf("%s fails: %s of operations", s.Name, thrShowPercent(s.ErrorRate)),
		Description: fmt.Sprintf("%d of %d operations of %s failed over the last %s (%s), %s %s (%s).",
			s.Errors, s.Count, s.Name, s.Window, thrShowPercent(s.ErrorRate), thrVerdict(firing, sev), thrShowPercent(limit),
			thrLimitsText(o.WarningErrorRate, o.MaxErrorRate, thrShowPercent)),
		Metric: "error_rate", Value: s.ErrorRate, Threshold: limit, Labels: thrOpLabels(s.Name), Time: now,
	}
	if !firing {
		c.Title = fmt.Sprintf("%s error rate %s within %s", s.Name, thrShowPercent(s.ErrorRate), thrShowPercent(limit))
		return c, true
	}
	c.Actions = []string{
		"Read the errors of the failing operations in the logs (for HTTP, the 5xx responses).",
		"Check the services it depends on: the database and the cache.",
		"If a deployment or a model change came just before, roll it back.",
	}
	return c, true
}

func thrCheckThroughput(now time.Time, s *OpSummary, o OpThresholds) Condition {
	firing := s.PerSecond < o.MinThroughput
	c := Condition{
		Key: "throughput/" + s.Name, Rule: "throughput", Firing: firing,
		Title:  fmt.Sprintf("%s throughput %.2f/s, at least %.2f/s wanted", s.Name, s.PerSecond, o.MinThroughput),
		Metric: "throughput_per_second", Value: s.PerSecond, Threshold: o.MinThroughput, Labels: thrOpLabels(s.Name), Time: now,
	}
	where := "at or above"
	if firing {
		c.Severity, where = SeverityHigh, "below"
		c.Title = fmt.Sprintf("%s throughput low: %.2f/s under %.2f/s", s.Name, s.PerSecond, o.MinThroughput)
		c.Actions = []string{
			"Check whether the demand fell (clients, load balancer, an upstream queue) or the service slowed: compare with the operation's latency.",
			"If its latency grew too, treat it as a slowdown: profile the operation, check CPU and the database.",
			"If this demand is expected, lower min_throughput for this operation or set it to 0.",
		}
	}
	c.Description = fmt.Sprintf("%s served %.2f operations a second over the last %s (%d operations), %s its floor of %.2f/s.",
		s.Name, s.PerSecond, s.Window, s.Count, where, o.MinThroughput)
	return c
}

const thrBytesPerMB = 1 << 20

func thrShowMB(mb float64) string { return strconv.FormatFloat(mb, 'f', 0, 64) + " MB" }

func (t Thresholds) checkMemory(now time.Time, r Resources) (Condition, bool) {
	if t.WarningMemoryMB <= 0 && t.MaxMemoryMB <= 0 {
		return Condition{}, false
	}
	mb := float64(r.RSS) / thrBytesPerMB
	firing, sev, limit := thrLevel(mb, t.WarningMemoryMB, t.MaxMemoryMB)
	c := Condition{
		Key: "memory", Rule: "memory", Firing: firing, Severity: sev,
		Title: fmt.Sprintf("Memory high: %s resident, over %s", thrShowMB(mb), thrShowMB(limit)),
		Description: fmt.Sprintf("The process's resident set is %s, %s %s (%s); the Go heap is %s, its goal %s.",
			thrShowMB(mb), thrVerdict(firing, sev), thrShowMB(limit), thrLimitsText(t.WarningMemoryMB, t.MaxMemoryMB, thrShowMB),
			thrShowMB(float64(r.Heap)/thrBytesPerMB), thrShowMB(float64(r.HeapGoal)/thrBytesPerMB)),
		Metric: "process_rss_mb", Value: mb, Threshold: limit, Time: now,
	}
	if !firing {
		c.Title = fmt.Sprintf("Memory %s resident, within %s", thrShowMB(mb), thrShowMB(limit))
		return c, true
	}
	c.Actions = []string{
		"Take two heap profiles a few minutes apart (go tool pprof -base on /debug/pprof/heap) to see what grows.",
		"If the Go heap is much smaller than the resident set, look outside the heap: cgo, memory-mapped files, memory not yet returned to the system.",
		"Lower the model cache's size or the rows per request, and set GOMEMLIMIT below the container's limit.",
	}
	return c, true
}

func (t Thresholds) checkCPU(now time.Time, r Resources) (Condition, bool) {
	if t.WarningCPUPercent <= 0 && t.MaxCPUPercent <= 0 {
		return Condition{}, false
	}
	cores := t.Cores
	if cores <= 0 {
		cores = runtime.GOMAXPROCS(0)
	}
	share := r.CPUPercent / float64(cores)
	firing, sev, limit := thrLevel(share, t.WarningCPUPercent, t.MaxCPUPercent)
	showPct := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + " %" }
	c := Condition{
		Key: "cpu", Rule: "cpu", Firing: firing, Severity: sev,
		Title: fmt.Sprintf("CPU high: %s of %d cores, over %s", showPct(share), cores, showPct(limit)),
		Description: fmt.Sprintf("The process uses %s of the %d cores it may use, %s %s (%s); the collector takes %s of it.",
			showPct(share), cores, thrVerdict(firing, sev), showPct(limit), thrLimitsText(t.WarningCPUPercent, t.MaxCPUPercent, showPct),
			showPct(r.GCPercent)),
		Metric: "process_cpu_share_percent", Value: share, Threshold: limit,
		Labels: map[string]string{"cores": strconv.Itoa(cores)}, Time: now,
	}
	if !firing {
		c.Title = fmt.Sprintf("CPU %s of %d cores, within %s", showPct(share), cores, showPct(limit))
		return c, true
	}
	c.Actions = []string{
		"Take a CPU profile (go tool pprof on /debug/pprof/profile) to see where the time goes.",
		fmt.Sprintf("The collector takes %s of the CPU: if that is a large part, reduce allocation or raise GOGC.", showPct(r.GCPercent)),
		"Limit the concurrent requests or add replicas.",
	}
	return c, true
}
