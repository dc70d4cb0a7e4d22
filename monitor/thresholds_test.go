package monitor

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The service thresholds of testdata/thresholds.yaml and .json, as LoadThresholds reads them.
func serviceThresholds() Thresholds {
	top := OpThresholds{WarningExecutionTime: time.Minute, MaxExecutionTime: 5 * time.Minute,
		MinThroughput: 2, WarningErrorRate: 0.02, MaxErrorRate: 0.1}
	train, health := top, top
	train.MinThroughput = 0
	return Thresholds{
		WarningExecutionTime: time.Minute, MaxExecutionTime: 5 * time.Minute,
		WarningMemoryMB: 1024, MaxMemoryMB: 3072, WarningCPUPercent: 75, MaxCPUPercent: 90,
		MinThroughput: 2, WarningErrorRate: 0.02, MaxErrorRate: 0.1, MinOperations: 50, Cores: 4,
		Operations: map[string]OpThresholds{
			"POST /api/v1/detection/predict": {WarningExecutionTime: 250 * time.Millisecond, MaxExecutionTime: time.Second,
				MinThroughput: 5, WarningErrorRate: 0.02, MaxErrorRate: 0.1},
			"POST /api/v1/detectors/{id}/train": train,
			"GET /healthz":                      health,
		},
	}
}

func TestLoadThresholds(t *testing.T) {
	for _, name := range []string{"thresholds.yaml", "thresholds.json"} {
		got, err := LoadThresholds(filepath.Join("testdata", name))
		if err != nil {
			t.Fatalf("LoadThresholds(%s): %v", name, err)
		}
		if want := serviceThresholds(); !reflect.DeepEqual(got, want) {
			t.Errorf("LoadThresholds(%s) =\n%+v\nwant\n%+v", name, got, want)
		}
	}
	got, err := LoadThresholds(filepath.Join("testdata", "thresholds_empty.yaml"))
	if err != nil || !reflect.DeepEqual(got, DefaultThresholds()) {
		t.Errorf("an empty file: %+v, %v; want the defaults", got, err)
	}
}

// Every refused file is an error naming the file and the field (or the line) at fault.
func TestLoadThresholdsRefuses(t *testing.T) {
	for _, c := range []struct {
		file string
		want []string // in the error, besides the file's path
	}{
		{"thresholds_unknown.yaml", []string{"line 2", "max_memory"}},
		{"thresholds_unknown_op.yaml", []string{"line 4", "max_latency"}},
		{"thresholds_unknown.json", []string{"maximum_cpu"}},
		{"thresholds_negative.yaml", []string{"warning_memory_mb", "negative"}},
		{"thresholds_negative_op.yaml", []string{`operations["predict"].min_throughput`, "negative"}},
		{"thresholds_warning_above_max.yaml", []string{"warning_execution_time 10m0s is above max_execution_time 5m0s"}},
		{"thresholds_warning_above_max.json", []string{`operations["predict"].warning_error_rate 0.5 is above`}},
		{"thresholds_nan.yaml", []string{"max_cpu_percent", "NaN"}},
		{"thresholds_rate.yaml", []string{"warning_error_rate", "above 1"}},
		{"thresholds_bad_duration.yaml", []string{"line 1", `"5 minutes"`}},
		{"thresholds_wrong_type.yaml", []string{"line 1"}},
		{"missing.yaml", []string{"no such file"}},
		{"thresholds.toml", []string{`".toml"`}},
	} {
		path := filepath.Join("testdata", c.file)
		_, err := LoadThresholds(path)
		if err == nil {
			t.Errorf("LoadThresholds(%s) succeeded", c.file)
			continue
		}
		for _, w := range append(c.want, "thresholds "+path+":") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadThresholds(%s) = %q, want it to say %q", c.file, err, w)
			}
		}
	}

	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxThresholdsFileBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadThresholds(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the cap: %v", err)
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	if err := serviceThresholds().Validate(); err != nil {
		t.Fatalf("the service thresholds: %v", err)
	}
	for _, c := range []struct {
		change func(*Thresholds)
		want   string
	}{
		{func(t *Thresholds) { t.MaxExecutionTime = -time.Second }, "max_execution_time is negative"},
		{func(t *Thresholds) { t.MinThroughput = math.Inf(1) }, "min_throughput is +Inf"},
		{func(t *Thresholds) { t.WarningMemoryMB = 5000 }, "warning_memory_mb 5000 is above max_memory_mb 4096"},
		{func(t *Thresholds) { t.WarningCPUPercent, t.MaxCPUPercent = 96, 0 }, ""}, // the max is off: nothing to be above
		{func(t *Thresholds) { t.MaxCPUPercent = 150 }, "above 100"},
		{func(t *Thresholds) { t.MinOperations = -1 }, "min_operations is negative"},
		{func(t *Thresholds) { t.Operations = map[string]OpThresholds{" ": {}} }, "empty name"},
		{func(t *Thresholds) {
			t.Operations = map[string]OpThresholds{"predict": {WarningExecutionTime: 2 * time.Second, MaxExecutionTime: time.Second}}
		}, `operations["predict"].warning_execution_time 2s is above operations["predict"].max_execution_time 1s`},
	} {
		th := DefaultThresholds()
		c.change(&th)
		err := th.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate: %v, want none", err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "thresholds: ")):
			t.Errorf("Validate = %v, want %q", err, c.want)
		}
	}
}

// summary is an operation with traffic: count operations, errors of them failed, over a
// minute.
func summary(name string, count, errors int64, p99 time.Duration) OpSummary {
	return OpSummary{Name: name, Count: count, Errors: errors, ErrorRate: float64(errors) / float64(count),
		PerSecond: float64(count) / 60, Mean: p99 / 2, P50: p99 / 2, P95: p99 * 9 / 10, P99: p99, Max: p99 * 11 / 10,
		Window: time.Minute, Rows: 10 * count}
}

// firing is a condition's key, whether it fires and its severity, for comparison.
type firing struct {
	Key      string
	Firing   bool
	Severity Severity
}

func firings(cs []Condition) []firing {
	out := make([]firing, len(cs))
	for i, c := range cs {
		out[i] = firing{c.Key, c.Firing, c.Severity}
	}
	return out
}

func TestThresholdsCheck(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	const predict, train = "POST /api/v1/detection/predict", "POST /api/v1/detectors/{id}/train"
	const mb = 1 << 20
	th := serviceThresholds() // predict: p99 250 ms / 1 s, >= 5/s; others 60 s / 300 s; errors 2 % / 10 % over >= 50
	for _, c := range []struct {
		name string
		ops  []OpSummary
		r    Resources
		want []firing
	}{
		{"nothing to judge", nil, Resources{}, []firing{}},
		{"a fast predict", []OpSummary{summary(predict, 600, 0, 100*time.Millisecond)}, Resources{},
			[]firing{{"latency/" + predict, false, SeverityInfo}, {"error_rate/" + predict, false, SeverityInfo},
				{"throughput/" + predict, false, SeverityInfo}}},
		{"a predict past its warning", []OpSummary{summary(predict, 600, 0, 300*time.Millisecond)}, Resources{},
			[]firing{{"latency/" + predict, true, SeverityHigh}, {"error_rate/" + predict, false, SeverityInfo},
				{"throughput/" + predict, false, SeverityInfo}}},
		{"a predict past its max, slow and failing", []OpSummary{summary(predict, 120, 24, 2*time.Second)}, Resources{},
			[]firing{{"latency/" + predict, true, SeverityCritical}, {"error_rate/" + predict, true, SeverityCritical},
				{"throughput/" + predict, true, SeverityHigh}}},
		{"exactly at the limits: within", []OpSummary{summary(predict, 300, 6, 250*time.Millisecond)}, Resources{},
			[]firing{{"latency/" + predict, false, SeverityInfo}, {"error_rate/" + predict, false, SeverityInfo},
				{"throughput/" + predict, false, SeverityInfo}}},
		// 300 ms is fine for an operation judged by the top-level 60 s; an unlisted operation
		// has no throughput floor, and too few operations have no error rate.
		{"an unlisted operation", []OpSummary{summary("GET /api/v1/detectors", 10, 5, 300*time.Millisecond)}, Resources{},
			[]firing{{"latency/GET /api/v1/detectors", false, SeverityInfo}}},
		{"a listed operation without a floor", []OpSummary{summary(train, 1, 0, 70*time.Second)}, Resources{},
			[]firing{{"latency/" + train, true, SeverityHigh}}},
		{"an error rate past its warning", []OpSummary{summary(train, 100, 3, time.Second)}, Resources{},
			[]firing{{"latency/" + train, false, SeverityInfo}, {"error_rate/" + train, true, SeverityHigh}}},
		{"no traffic", []OpSummary{{Name: predict, Window: time.Minute}}, Resources{}, []firing{}},
		{"memory and CPU fine", nil, Resources{Time: now, RSS: 512 * mb, CPUPercent: 100},
			[]firing{{"memory", false, SeverityInfo}, {"cpu", false, SeverityInfo}}},
		{"memory past its warning, CPU past its max", nil, Resources{Time: now, RSS: 2000 * mb, CPUPercent: 380},
			[]firing{{"memory", true, SeverityHigh}, {"cpu", true, SeverityCritical}}},
		{"memory past its max, CPU past its warning", nil, Resources{Time: now, RSS: 4000 * mb, CPUPercent: 320},
			[]firing{{"memory", true, SeverityCritical}, {"cpu", true, SeverityHigh}}},
	} {
		got := th.Check(now, c.ops, c.r)
		if !slices.Equal(firings(got), c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, firings(got), c.want)
		}
		for _, cond := range got {
			if cond.Rule == "" || cond.Metric == "" || cond.Title == "" || cond.Description == "" || !cond.Time.Equal(now) {
				t.Errorf("%s: %s lacks a field: %+v", c.name, cond.Key, cond)
			}
			if cond.Firing != (len(cond.Actions) > 0) {
				t.Errorf("%s: %s firing %v with %d actions", c.name, cond.Key, cond.Firing, len(cond.Actions))
			}
		}
	}
}

// Descriptions give the value against the limit in the user's units.
func TestThresholdsCheckText(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	th := serviceThresholds()
	const predict = "POST /api/v1/detection/predict"
	got := th.Check(now, []OpSummary{summary(predict, 120, 24, 1800*time.Millisecond)},
		Resources{Time: now, RSS: 2500 << 20, Heap: 1000 << 20, CPUPercent: 200, GCPercent: 12})
	want := map[string][]string{
		"latency/" + predict:    {"1.8s", "above the max limit of 1s", "warning 250ms, max 1s", "120 operations"},
		"error_rate/" + predict: {"24 of 120", "20.0 %", "above the max limit of 10.0 %"},
		"throughput/" + predict: {"2.00 operations a second", "below its floor of 5.00/s"},
		"memory":                {"2500 MB", "above the warning limit of 1024 MB", "warning 1024 MB, max 3072 MB", "heap is 1000 MB"},
		"cpu":                   {"50 % of the 4 cores", "within 75 %", "12 %"},
	}
	for _, c := range got {
		for _, w := range want[c.Key] {
			if !strings.Contains(c.Description, w) {
				t.Errorf("%s: description %q lacks %q", c.Key, c.Description, w)
			}
		}
		delete(want, c.Key)
	}
	if len(want) != 0 {
		t.Errorf("no condition for %v", want)
	}
	for _, c := range got {
		switch c.Key {
		case "latency/" + predict:
			if c.Metric != "latency_p99_seconds" || c.Value != 1.8 || c.Threshold != 1 || c.Labels["operation"] != predict {
				t.Errorf("latency: %+v", c)
			}
		case "memory":
			if c.Value != 2500 || c.Threshold != 1024 {
				t.Errorf("memory: value %v, threshold %v", c.Value, c.Threshold)
			}
		}
	}
}

// Cores left at 0 is GOMAXPROCS: the same CPU reading judged with Cores set to it.
func TestThresholdsCheckCores(t *testing.T) {
	now := time.Now()
	r := Resources{Time: now, RSS: 1, CPUPercent: 90}
	th := DefaultThresholds()
	a := th.Check(now, nil, r)
	th.Cores = runtime.GOMAXPROCS(0)
	b := th.Check(now, nil, r)
	if len(a) != 2 || a[1].Key != "cpu" || a[1].Value != b[1].Value || a[1].Labels["cores"] != b[1].Labels["cores"] {
		t.Errorf("Cores 0: %+v; Cores %d: %+v", a, th.Cores, b)
	}
}
