package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/store"
)

// TestMain lets the test binary stand in for gonomaly as the child process of the
// performance commands: they run cells by starting their own executable with
// "performance __cell", which here is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "performance" && os.Args[2] == cellCommand {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getenv(cliEnv) != "" { // a real gonomaly process, for the process fault tests
		os.Exit(main1(os.Args[1:]))
	}
	// The performance commands store their results in the default database: a file of the
	// test's own, not gonomaly.db in the source tree.
	dir, err := os.MkdirTemp("", "gonomaly-cmd-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("GONOMALY_DATABASE_URL", "sqlite:"+dir+"/runs.db")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func decodeDoc(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, s)
	}
	return m
}

func TestPerformanceBenchmarkJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	// Algorithms separated by spaces, as the seed system's CLI takes them, through the alias.
	code, stdout, stderr := gonomaly(t, "perf", "benchmark", "--algorithms", "hbos", "knn", "--sizes", "300,600", "--dims", "4",
		"--iterations", "2", "--warmup", "0", "--seed", "3", "--json", "--output", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc := decodeDoc(t, stdout)
	if doc["kind"] != "benchmark" || doc["schema_version"].(float64) != 1 || doc["seed"].(float64) != 3 || doc["isolated"] != true {
		t.Errorf("header: kind %v schema %v seed %v isolated %v", doc["kind"], doc["schema_version"], doc["seed"], doc["isolated"])
	}
	if doc["name"] != "custom" || !strings.HasPrefix(doc["suite_id"].(string), "custom-") {
		t.Errorf("a run with its own algorithms is named %v (suite id %v), want custom", doc["name"], doc["suite_id"])
	}
	if doc["gonomaly_version"] != version {
		t.Errorf("gonomaly_version %v, want %q", doc["gonomaly_version"], version)
	}
	cells := doc["cells"].([]any)
	if len(cells) != 4 {
		t.Fatalf("%d cells, want 4", len(cells))
	}
	for _, c := range cells {
		c := c.(map[string]any)
		if c["status"] != "ok" || c["total_seconds"].(map[string]any)["n"].(float64) != 2 {
			t.Errorf("cell %v: %v, %v", c["id"], c["status"], c["error"])
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fileDoc := decodeDoc(t, string(b)); fileDoc["suite_id"] != doc["suite_id"] {
		t.Errorf("--output holds suite %v, stdout %v", fileDoc["suite_id"], doc["suite_id"])
	}
	if strings.Contains(stderr, "algorithm") {
		t.Errorf("--json also printed the table: %s", stderr)
	}
}

func TestPerformanceBenchmarkTableAndConfig(t *testing.T) {
	cfg := writeFile(t, "suite.yaml", "name: cli-test\ndataset_sizes: [400]\nfeature_dimensions: [3, 5]\nalgorithms: [hbos]\niterations: 5\n")
	// The file sets 5 iterations; the flag overrides it.
	code, stdout, stderr := gonomaly(t, "performance", "benchmark", "--config", cfg, "--iterations", "2", "--isolate=false")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("the table went to stdout: %s", stdout)
	}
	for _, want := range []string{"benchmark cli-test", "algorithm", "hbos", "400", "roc_auc"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("table lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, "hbos"); n != 2 {
		t.Errorf("%d hbos rows, want 2 (dims 3 and 5):\n%s", n, stderr)
	}
	code, stdout, _ = gonomaly(t, "performance", "benchmark", "--config", cfg, "--iterations", "2", "--isolate=false", "--json")
	if code != 0 {
		t.Fatal(code)
	}
	c := decodeDoc(t, stdout)["config"].(map[string]any)
	if c["iterations"].(float64) != 2 || c["name"] != "cli-test" || c["suite"] != "quick" {
		t.Errorf("config %v", c)
	}
}

func TestPerformanceErrors(t *testing.T) {
	badField := writeFile(t, "bad.yaml", "iteratons: 3\n")
	tests := []exitCase{
		{"unknown algorithm", []string{"performance", "benchmark", "--algorithms", "forest"}, 2, "valid: ecod, hbos, isolation_forest"},
		{"unknown suite", []string{"performance", "benchmark", "--suite", "huge"}, 2, "valid: quick, standard, comprehensive"},
		{"stray words", []string{"performance", "benchmark", "hbos"}, 2, "algorithm names follow --algorithms"},
		{"param format", []string{"performance", "benchmark", "--algorithms", "knn", "--param", "n_neighbors=3"}, 2, "want algorithm.name=value"},
		{"param elsewhere", []string{"performance", "benchmark", "--algorithms", "knn", "--param", "hbos.n_bins=3"}, 2, "not one of the algorithms run"},
		{"param range", []string{"performance", "benchmark", "--algorithms", "knn", "--param", "knn.n_neighbors=0"}, 2, "out of range"},
		{"config field", []string{"performance", "benchmark", "--config", badField}, 2, "field iteratons not found"},
		{"config missing", []string{"performance", "benchmark", "--config", "nope.yaml"}, 1, "no such file"},
		{"contamination", []string{"perf", "benchmark", "--contamination", "0.7"}, 2, "must be in (0, 0.5]"},
		{"no algorithm", []string{"perf", "scalability"}, 2, "--algorithm"},
		{"steps", []string{"perf", "scalability", "-a", "hbos", "--steps", "2"}, 2, "need at least 3"},
		{"basis", []string{"perf", "scalability", "-a", "hbos", "--basis", "cycles"}, 2, "valid: cpu, wall"},
		{"budget", []string{"perf", "memory", "-a", "hbos", "--max-memory-mb", "8"}, 2, "at least 32 MiB"},
		{"multiplier", []string{"perf", "memory", "-a", "hbos", "--step-multiplier", "1"}, 2, "greater than 1"},
		{"memory param", []string{"perf", "memory", "-a", "hbos", "-p", "bins=3"}, 2, `hbos has no parameter "bins"`},
		{"one to compare", []string{"perf", "compare", "--algorithms", "hbos", "--dataset", wbc, "--label", "label"}, 2, "at least two"},
		{"compare file", []string{"perf", "compare", "--algorithms", "hbos,ecod", "--dataset", "nope.csv", "--label", "label"}, 1, "no such file"},
		{"compare label", []string{"perf", "compare", "--algorithms", "hbos,ecod", "--dataset", wbc, "--label", "y"}, 1, `column "y"`},
	}
	checkExits(t, tests)
}

func TestPerformanceScalabilityMemoryCompare(t *testing.T) {
	code, stdout, stderr := gonomaly(t, "perf", "scalability", "-a", "hbos", "--base-size", "5000", "--max-size", "20000", "--steps", "3",
		"--iterations", "1", "--warmup", "0", "--json")
	if code != 0 {
		t.Fatalf("scalability: exit %d: %s", code, stderr)
	}
	s := decodeDoc(t, stdout)
	if s["kind"] != "scalability" || len(s["points"].([]any)) != 3 || s["pattern"] == nil || s["grade"] == nil {
		t.Errorf("scalability document: %v", s)
	}

	budget := "96" // at 48 the kill line came under the 20000-row step's predicted peak once, with the package's other tests loading the machine
	if raceEnabled {
		budget = "1024" // the race detector's shadow memory
	}
	code, stdout, stderr = gonomaly(t, "perf", "memory", "-a", "hbos", "--max-memory-mb", budget, "--base-size", "5000",
		"--step-multiplier", "4", "--dims", "4", "--max-steps", "3", "--json")
	if code != 0 {
		t.Fatalf("memory: exit %d: %s", code, stderr)
	}
	m := decodeDoc(t, stdout)
	if stop := m["stop_reason"]; m["kind"] != "memory" || (stop != "predicted" && stop != "max_steps") || m["largest_rows_tested"].(float64) < 20000 || m["fit_bytes_per_row"].(float64) <= 0 {
		t.Errorf("memory document: stop %v, largest %v, bytes/row %v", m["stop_reason"], m["largest_rows_tested"], m["fit_bytes_per_row"])
	}

	code, _, stderr = gonomaly(t, "perf", "compare", "--algorithms", "isolation_forest", "hbos", "ecod", "--dataset", wbc, "--label", "label",
		"--iterations", "3")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"rank", "isolation_forest", "Pareto front", "Mann-Whitney", "hbos vs ecod"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("compare table lacks %q:\n%s", want, stderr)
		}
	}
}

func TestPerformanceHelp(t *testing.T) {
	for _, sub := range []string{"benchmark", "scalability", "memory", "compare"} {
		code, stdout, _ := gonomaly(t, "performance", sub, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "--json") {
			t.Errorf("%s --help: exit %d:\n%s", sub, code, stdout)
		}
	}
	_, stdout, _ := gonomaly(t, "perf", "--help")
	if strings.Contains(stdout, cellCommand) {
		t.Error("the hidden cell command shows in help")
	}
}

// A performance command stores its document in the database, where reports find it by suite.
func TestPerformanceResultIsStored(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/s.db"
	code, stdout, stderr := gonomaly(t, "performance", "scalability", "--algorithm", "hbos", "--base-size", "200", "--max-size", "800", "--steps", "3", "--json", "--database", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc := decodeDoc(t, stdout)
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListBenchmarkRuns(context.Background(), store.BenchmarkFilter{Kind: store.KindScalability})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].SuiteID != doc["suite_id"] {
		t.Fatalf("stored runs %+v, want one of suite %v", runs, doc["suite_id"])
	}
	var stored map[string]any
	if err := json.Unmarshal(runs[0].Document, &stored); err != nil || stored["suite_id"] != doc["suite_id"] {
		t.Fatalf("stored document does not match the printed one: %v", err)
	}
}

// A panic while a child process serves a cell is a failed cell whose error is the panic's
// message, not a crash trace; the stack goes to the child's stderr.
func TestCellPanicIsAFailedCell(t *testing.T) {
	decode := func(b []byte) bench.CellResult {
		t.Helper()
		var r bench.CellResult
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("the child's stdout is not a result: %v: %q", err, b)
		}
		return r
	}
	// A panic on the serving goroutine.
	var out, errOut bytes.Buffer
	err := serveCell(context.Background(), strings.NewReader(""), &out, &errOut, func(context.Context, io.Reader, io.Writer) error {
		var xs []int
		_ = xs[len(xs)] // index out of range
		return nil
	})
	if r := decode(out.Bytes()); err != nil || r.Error != "panic: runtime error: index out of range [0] with length 0"+bugNote {
		t.Errorf("err %v, result error %q", err, r.Error)
	}
	if !strings.Contains(errOut.String(), "goroutine ") {
		t.Errorf("no stack on stderr: %q", errOut.String())
	}
	// A worker's panic, returned by the fit as an error carrying the stack.
	out.Reset()
	errOut.Reset()
	stack := "bench: cell knn/10x2/c0.1: fit: panic: runtime error: index out of range [3] with length 3\n\ngoroutine 7 [running]:\nmain.f()\n"
	err = serveCell(context.Background(), strings.NewReader(""), &out, &errOut, func(_ context.Context, _ io.Reader, w io.Writer) error {
		return json.NewEncoder(w).Encode(bench.CellResult{Error: stack})
	})
	if r := decode(out.Bytes()); err != nil || r.Error != "bench: cell knn/10x2/c0.1: fit: panic: runtime error: index out of range [3] with length 3"+bugNote {
		t.Errorf("err %v, result error %q", err, r.Error)
	}
	if !strings.Contains(errOut.String(), "goroutine 7 [running]") {
		t.Errorf("the stack is not on stderr: %q", errOut.String())
	}
	// Any other result passes unchanged.
	out.Reset()
	want := bench.CellResult{Rows: 10, Cols: 2, Error: "bench: cell: fit: too few rows"}
	serveCell(context.Background(), strings.NewReader(""), &out, &errOut, func(_ context.Context, _ io.Reader, w io.Writer) error {
		return json.NewEncoder(w).Encode(want)
	})
	if r := decode(out.Bytes()); r.Error != want.Error || r.Rows != 10 {
		t.Errorf("a plain failure became %+v", r)
	}
}

// Sizes, counts and time limits past what the machine can hold or a run can finish are usage
// errors naming the flag, before any child process starts (a size of 1e11 rows used to crash
// the child out of memory).
func TestPerformanceBounds(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"benchmark", "--sizes", "100000000000"}, "--sizes: 100000000000 rows x 10 columns: the data alone needs 7.3 TiB, more than the"},
		{[]string{"benchmark", "--sizes", "1000", "--dims", "1000000000000"}, "--dims: 1000 rows x 1000000000000 columns"},
		{[]string{"benchmark", "--sizes", "99999999999999999999"}, "invalid argument"},
		{[]string{"benchmark", "--sizes", "0"}, "--sizes: dataset size 0: must be at least 2"},
		{[]string{"benchmark", "--iterations", "1000000000"}, "--iterations: iterations 1000000000: must be from 1 to 100000"},
		{[]string{"benchmark", "--warmup", "-1"}, "--warmup: warm-up iterations -1: must be from 0 to 100000"},
		{[]string{"benchmark", "--timeout", "10000h"}, "--timeout: timeout 3.6e+07 s: must be at least 0.001 and at most 168h0m0s"},
		{[]string{"benchmark", "--timeout", "-1s"}, "--timeout: timeout -1 s: must be at least 0.001"},
		{[]string{"benchmark", "--workers", "100000"}, "--workers: max workers 100000: must be from 0 to 256"},
		{[]string{"scalability", "-a", "hbos", "--max-size", "100000000000"}, "--max-size: 100000000000 rows x 10 columns: the data alone needs"},
		{[]string{"scalability", "-a", "hbos", "--steps", "1000000000000"}, "--steps: 1000000000000 steps: must be at most 10000"},
		{[]string{"scalability", "-a", "hbos", "--iterations", "0"}, "--iterations: iterations 0: must be from 1"},
		{[]string{"memory", "-a", "hbos", "--max-memory-mb", "1e12"}, "--max-memory-mb: budget 1e+12 MiB: must be at most the"},
		{[]string{"memory", "-a", "hbos", "--base-size", "100000000", "--max-memory-mb", "64"}, "--base-size, --max-memory-mb: 100000000 rows x 10 columns: the first step's data alone needs 7.5 GiB"},
		{[]string{"memory", "-a", "hbos", "--max-steps", "99999999"}, "--max-steps: max steps 99999999: must be at most 10000"},
	} {
		code, _, stderr := gonomaly(t, append(append([]string{"perf"}, tc.args...), "--database", "none")...)
		if code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", tc.args, code, stderr, tc.msg)
		}
	}
	// From a configuration file the error names the setting.
	cfg := writeFile(t, "big.yaml", "dataset_sizes: [100000000000]\n")
	if code, _, stderr := gonomaly(t, "perf", "benchmark", "--config", cfg, "--database", "none"); code != 2 || !strings.Contains(stderr, "100000000000 rows x 10 columns") {
		t.Errorf("config file: exit %d: %s", code, stderr)
	}
}
