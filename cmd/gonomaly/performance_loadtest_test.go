package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/loadtest"
	"github.com/gonomaly/gonomaly/store"
)

func TestLoadtestFlagErrors(t *testing.T) {
	u := "http://127.0.0.1:1/api/v1"
	bodies := writeFile(t, "b.json", `{"detector_id":"x","data":[[1]]}`)
	notJSON := writeFile(t, "bad.json", "{\"detector_id\":\"x\"}\nnot json\n")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{nil, "--url is required"},
		{[]string{"--url", "ftp://h/x"}, "--url: URL \"ftp://h/x\": want http:// or https://"},
		{[]string{"--url", u, "--endpoint", "score"}, `--endpoint "score": want predict or train`},
		{[]string{"--url", u, "--rate", "10", "--concurrency", "2"}, "give one"},
		{[]string{"--url", u, "--rate", "0"}, "--rate 0: want more than 0"},
		{[]string{"--url", u, "--rate", "2000000"}, "--rate 2e+06"},
		{[]string{"--url", u, "--concurrency", "0"}, "--concurrency 0: want 1 to 10000"},
		{[]string{"--url", u, "--concurrency", "100000"}, "--concurrency 100000"},
		{[]string{"--url", u, "--max-in-flight", "5"}, "--max-in-flight bounds the open model"},
		{[]string{"--url", u, "--rate", "5", "--max-in-flight", "0"}, "--max-in-flight 0"},
		{[]string{"--url", u, "--rate", "5", "--pacing", "fast"}, `--pacing "fast": want precise or timer`},
		{[]string{"--url", u, "--concurrency", "5", "--pacing", "timer"}, "--pacing paces the open model"},
		{[]string{"--url", u, "--duration", "48h"}, "--duration 48h0m0s: want 10ms to 24h"},
		{[]string{"--url", u, "--duration", "1ms"}, "--duration 1ms"},
		{[]string{"--url", u, "--duration", "0s"}, "would not end"},
		{[]string{"--url", u, "--requests", "-1"}, "--requests -1"},
		{[]string{"--url", u, "--rows", "0"}, "--rows 0: want 1 to 100000"},
		{[]string{"--url", u, "--cols", "20000"}, "--cols 20000: want 1 to 10000"},
		{[]string{"--url", u, "--train-rows", "1"}, "--train-rows 1"},
		{[]string{"--url", u, "--timeout", "1h"}, "--timeout 1h0m0s"},
		{[]string{"--url", u, "--body-file", bodies, "--rows", "3"}, "--body-file sends its own bodies"},
		{[]string{"--url", u, "--endpoint", "train", "--rows", "3"}, "give --train-rows"},
		{[]string{"--url", u, "--ramp"}, "--ramp needs --p99"},
		{[]string{"--url", u, "--ramp", "--p99", "10ms", "--rate", "5"}, "--ramp sets the rate itself"},
		{[]string{"--url", u, "--ramp", "--p99", "10ms", "--duration", "5s"}, "--duration and --requests do not apply"},
		{[]string{"--url", u, "--ramp", "--p99", "10ms", "--ramp-step", "5", "--ramp-factor", "2"}, "--ramp-step and --ramp-factor: give one"},
		{[]string{"--url", u, "--ramp", "--p99", "10ms", "--ramp-factor", "1"}, "--ramp-factor 1"},
		{[]string{"--url", u, "--ramp", "--p99", "10ms", "--ramp-steps", "1000"}, "--ramp-steps 1000"},
		{[]string{"--url", u, "--ramp", "--p99", "10ms", "--min-success", "2"}, "--min-success 2"},
		{[]string{"--url", u, "--p99", "10ms"}, "--p99 goes with --ramp"},
		{[]string{"--url", u, "--body-file", filepath.Join(t.TempDir(), "none.json")}, "--body-file: open"},
		{[]string{"--url", u, "--body-file", notJSON}, "body 2: line 2"},
		{[]string{"--url", u, "--body-file", t.TempDir()}, "not a regular file"},
		{[]string{"--url", u, "--endpoint", "train"}, "give --requests, the number of training jobs"},
		{[]string{"--url", u, "--endpoint", "train", "--requests", "5", "--concurrency", "300"}, "--concurrency 300: the training stress test"},
		{[]string{"--url", u, "--endpoint", "train", "--requests", "5", "--duration", "5s"}, "--duration: the training stress test"},
	} {
		code, _, stderr := gonomaly(t, append([]string{"performance", "loadtest", "--database", "none"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, stderr, tt.msg)
		}
	}
}

func TestLoadtestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String() + "/api/v1"
	l.Close()
	for _, args := range [][]string{
		{"--concurrency", "2", "--requests", "5"},
		{"--detector", "d", "--requests", "5"},
		{"--body-file", writeFile(t, "b.json", `{"detector_id":"x","data":[[1]]}`), "--requests", "5"},
	} {
		code, stdout, stderr := gonomaly(t, append([]string{"performance", "loadtest", "--url", u, "--database", "none"}, args...)...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "connection refused") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and connection refused", args, code, stdout, stderr)
		}
		if lines := strings.Count(strings.TrimSpace(stderr), "\n"); args[0] != "--body-file" && lines != 0 {
			t.Errorf("%v: %d lines on stderr, want one: %q", args, lines+1, stderr)
		}
	}
}

// decodeLoadtest decodes a loadtest document from stdout.
func decodeLoadtest(t *testing.T, stdout string) *loadtest.Document {
	t.Helper()
	var d loadtest.Document
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("stdout is not a loadtest document: %v\n%s", err, stdout)
	}
	if d.Kind != loadtest.Kind || d.SchemaVersion != 1 || d.SuiteID == "" || d.Machine.Cores == 0 || d.Build == "" {
		t.Errorf("header: %+v", d)
	}
	return &d
}

// The command against a real service: closed and open models, a throwaway detector (deleted at
// the end) or a given one, a ramp, the training stress test and a body file; the documents are
// stored under the kind loadtest.
func TestLoadtestAgainstService(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a service process")
	}
	dir := t.TempDir()
	s := startService(t, filepath.Join(dir, "serve.db"))
	api := s.url + "/api/v1"
	results := filepath.Join(dir, "results.db")
	lt := func(args ...string) *loadtest.Document {
		t.Helper()
		code, stdout, stderr := gonomaly(t, append([]string{"performance", "loadtest", "--url", api, "--json", "--database", "sqlite:" + results}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return decodeLoadtest(t, stdout)
	}

	d := lt("--concurrency", "2", "--requests", "60", "--cols", "5")
	if r := d.Result; r == nil || r.Model != loadtest.Closed || r.Requests != 60 || r.Successes != 60 || r.StatusCodes["200"] != 60 || r.Latency.P50 <= 0 {
		t.Errorf("closed model: %+v", d.Result)
	}
	if !d.Config.CreatedDetector || d.Config.DetectorID == "" || d.Config.Cols != 5 || d.Config.Rows != 1 {
		t.Errorf("config %+v", d.Config)
	}
	var list struct {
		Detectors []struct{ ID string } `json:"detectors"`
	}
	resp, err := http.Get(api + "/detectors")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Detectors) != 0 {
		t.Errorf("the throwaway detector is still there: %+v", list.Detectors)
	}

	id := trainedDetector(t, s) // 3 columns
	d = lt("--detector", id, "--rate", "200", "--duration", "500ms", "--rows", "2")
	if r := d.Result; r == nil || r.Model != loadtest.Open || r.Requests != 100 || r.SuccessRate != 1 || r.SendLag == nil {
		t.Errorf("open model: %+v", d.Result)
	}
	if d.Config.CreatedDetector || d.Config.Cols != 3 || d.Config.Rows != 2 || d.Config.Rate != 200 {
		t.Errorf("config %+v", d.Config)
	}

	d = lt("--detector", id, "--ramp", "--p99", "2s", "--ramp-start", "50", "--ramp-steps", "2", "--ramp-step-duration", "200ms")
	if r := d.Ramp; r == nil || len(r.Steps) != 2 || r.BestRate != 100 || r.StopReason != loadtest.StopMaxSteps {
		t.Errorf("ramp: %+v", d.Ramp)
	}

	d = lt("--detector", id, "--endpoint", "train", "--concurrency", "1", "--requests", "3", "--train-rows", "100")
	if tr := d.Train; tr == nil || tr.HTTP.Successes != 3 || tr.TrainingTimeJobs != 3 || tr.TrainingTime.Max <= 0 {
		t.Errorf("training stress: %+v, errors %v", d.Train, d.Train.HTTP.Errors)
	}
	// Without --detector, one throwaway detector per job slot: no two trainings of one detector
	// overlap (the service would answer 409).
	d = lt("--endpoint", "train", "--concurrency", "3", "--requests", "9", "--train-rows", "100", "--cols", "4")
	if tr := d.Train; tr == nil || tr.HTTP.Successes != 9 || tr.Concurrency != 3 || d.Config.Bodies != 3 || !d.Config.CreatedDetector {
		t.Errorf("training stress on throwaway detectors: %+v, errors %v", d.Train, d.Train.HTTP.Errors)
	}

	bodies := writeFile(t, "bodies.ndjson", `{"detector_id":"`+id+`","data":[[1,2,3]]}`+"\n"+`{"detector_id":"`+id+`","data":[[0,0,0],[5,5,5]]}`+"\n")
	d = lt("--body-file", bodies, "--concurrency", "1", "--requests", "10")
	if r := d.Result; r == nil || r.Successes != 10 || d.Config.Bodies != 2 || d.Config.BodyFile != bodies {
		t.Errorf("body file: %+v %+v", d.Result, d.Config)
	}

	st, err := store.Open(context.Background(), "sqlite:"+results, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListBenchmarkRuns(context.Background(), store.BenchmarkFilter{Kind: store.KindLoadTest})
	if err != nil || len(runs) != 6 {
		t.Fatalf("%d stored loadtest runs (%v), want 6", len(runs), err)
	}

	// Without --json: the table on stderr, nothing on stdout.
	code, stdout, stderr := gonomaly(t, "performance", "loadtest", "--url", api, "--detector", id, "--concurrency", "1", "--requests", "5", "--database", "none")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "throughput") || !strings.Contains(stderr, "p99") {
		t.Errorf("table: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A detector that does not exist: exit 1, one line.
	code, _, stderr = gonomaly(t, "performance", "loadtest", "--url", api, "--detector", "00000000-0000-0000-0000-000000000000", "--requests", "5", "--database", "none")
	if code != 1 || !strings.Contains(stderr, "no such detector") {
		t.Errorf("missing detector: exit %d, %q", code, stderr)
	}
	resp, err = http.Get(api + "/detectors")
	if err != nil {
		t.Fatal(err)
	}
	list.Detectors = nil
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Detectors) != 1 || list.Detectors[0].ID != id {
		t.Errorf("detectors left: %+v, want only %s", list.Detectors, id)
	}
	_ = os.Remove(results)
}

// The note about a generator sharing the service's machine: only for a service on a loopback
// address or localhost, and only when the generator took a tenth or more of the cores.
func TestSharedMachineNote(t *testing.T) {
	run := func(cpu float64) *loadtest.Document {
		return &loadtest.Document{Result: &loadtest.Result{GeneratorCPUSeconds: cpu, Elapsed: 10 * time.Second}}
	}
	ramp := &loadtest.Document{Ramp: &loadtest.RampResult{Steps: []loadtest.RampStep{
		{Result: &loadtest.Result{GeneratorCPUSeconds: 0.1, Elapsed: time.Second}},
		{Result: &loadtest.Result{GeneratorCPUSeconds: 0.6, Elapsed: time.Second}}}}}
	for _, tt := range []struct {
		name, base string
		doc        *loadtest.Document
		cores      int
		want       string // empty: no note
	}{
		{"loopback, 0.54 of 2 cores", "http://127.0.0.1:8080/api/v1", run(5.4), 2, "used 0.54 of this machine's 2 cores, which the service at 127.0.0.1 shares"},
		{"localhost", "http://LocalHost:8080/api/v1", run(5.4), 2, "service at LocalHost shares"},
		{"IPv6 loopback", "http://[::1]:8080/api/v1", run(5.4), 2, "service at ::1 shares"},
		{"ramp: its last step", "http://127.0.0.1:1/api/v1", ramp, 2, "used 0.60 of this machine's 2 cores"},
		{"under a tenth of the cores", "http://127.0.0.1:8080/api/v1", run(5.4), 8, ""},
		{"another machine", "http://10.0.0.7:8080/api/v1", run(5.4), 2, ""},
		{"a name", "https://api.example.com/api/v1", run(5.4), 2, ""},
		{"not measured", "http://127.0.0.1:8080/api/v1", run(0), 2, ""},
		{"no result", "http://127.0.0.1:8080/api/v1", &loadtest.Document{}, 2, ""},
	} {
		got := sharedMachineNote(tt.base, tt.doc, tt.cores)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
