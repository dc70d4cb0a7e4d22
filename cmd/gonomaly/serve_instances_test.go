package main

// Scale-out: several `gonomaly serve` processes over one PostgreSQL database and one Redis.
// The test binary stands in for gonomaly, as in serve_process_test.go.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// startServe starts `gonomaly serve` with args on a free port of 127.0.0.1 and waits until it
// answers /healthz; it is killed when the test ends.
func startServe(t *testing.T, args ...string) *service {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &service{t: t, url: "http://" + addr, done: make(chan error, 1)}
	s.cmd = exec.Command(os.Args[0], append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)...)
	s.cmd.Env = append(os.Environ(), cliEnv+"=1")
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service did not come up in 30 s: %v\n%s", err, s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get fetches path and returns the status and body.
func (s *service) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// score predicts one row and returns its score.
func (s *service) score(id string, row []float64) float64 {
	s.t.Helper()
	var p struct{ Scores []float64 }
	if st := s.post("/api/v1/detection/predict", map[string]any{"detector_id": id, "data": [][]float64{row}}, &p); st != http.StatusOK || len(p.Scores) != 1 {
		s.t.Fatalf("predict on %s: status %d, %v\n%s", s.url, st, p.Scores, s.logs.String())
	}
	return p.Scores[0]
}

// metric is the value of the sample of /metrics whose line starts with prefix (0 if none).
func (s *service) metric(prefix string) float64 {
	s.t.Helper()
	_, text := s.get("/metrics")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				return v
			}
		}
	}
	return 0
}

// trainRows are 300 rows of 3 features around offset.
func trainRows(offset float64) [][]float64 {
	data := make([][]float64, 300)
	for i := range data {
		data[i] = []float64{offset + float64(i%7), offset + float64(i%11), offset + float64(i%5)}
	}
	return data
}

// Two serve processes share a PostgreSQL schema and a Redis: a detector trained through one
// is served by the other with the same scores, and a retrain through the first reaches the
// second within a second of the retrain's answer, whether the second had read the model once
// or was serving it from its in-process cache (L1). Each process names itself in its metrics
// and /healthz.
func TestServeInstancesShareModelsThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts service processes")
	}
	pg := testsvc.PostgresSchema(t, "serveinst")
	redis := testsvc.StartRedis(t) // private: the invalidation channel and keys are the test's own
	a := startServe(t, "--database", pg, "--redis", redis.URL(), "--instance", "inst-a")
	b := startServe(t, "--database", pg, "--redis", redis.URL())

	// Instance names: given, and by default the listen address.
	for _, c := range []struct {
		s    *service
		want string
	}{{a, "inst-a"}, {b, strings.TrimPrefix(b.url, "http://")}} {
		var h map[string]string
		_, body := c.s.get("/healthz")
		if err := json.Unmarshal([]byte(body), &h); err != nil || h["instance"] != c.want {
			t.Errorf("%s: /healthz %s, want instance %q", c.s.url, body, c.want)
		}
		if _, text := c.s.get("/metrics"); !strings.Contains(text, `go_goroutines{instance_id="`+c.want+`"}`) {
			t.Errorf("%s: /metrics has no instance_id %q:\n%.2000s", c.s.url, c.want, text)
		}
	}

	row := []float64{3, 5, 2}
	retrainReaches := func(t *testing.T, id string, warm bool) {
		if st := a.post("/api/v1/detection/train", map[string]any{"detector_id": id, "data": trainRows(0)}, nil); st != http.StatusOK {
			t.Fatalf("train on a: %d", st)
		}
		old := b.score(id, row)
		if want := a.score(id, row); old != want {
			t.Fatalf("b scores %v, a %v", old, want)
		}
		if warm {
			hits := b.metric("gonomaly_cache_l1_hits_total")
			for range 20 {
				if s := b.score(id, row); s != old {
					t.Fatalf("b's score moved from %v to %v with no retrain", old, s)
				}
			}
			if got := b.metric("gonomaly_cache_l1_hits_total"); got < hits+20 {
				t.Fatalf("b did not serve the model from L1: %v L1 hits before 20 predictions, %v after", hits, got)
			}
		}
		if st := a.post("/api/v1/detection/train", map[string]any{"detector_id": id, "data": trainRows(20)}, nil); st != http.StatusOK {
			t.Fatalf("retrain on a: %d", st)
		}
		answered := time.Now()
		var (
			polls int
			got   float64
			delay time.Duration
		)
		for {
			got = b.score(id, row)
			polls++
			delay = time.Since(answered)
			if got != old || delay > 10*time.Second {
				break
			}
		}
		want := a.score(id, row)
		t.Logf("b served the retrained model %v after a answered the retrain (%d predictions; score %v -> %v)", delay, polls, old, got)
		switch {
		case got == old:
			t.Fatalf("b still serves the old model (score %v) 10 s after the retrain; a scores %v", old, want)
		case got != want:
			t.Fatalf("b scores %v after the retrain, a %v", got, want)
		case delay > time.Second:
			t.Errorf("b served the retrained model %v after the retrain's answer; the bound is 1 s", delay)
		}
	}
	for _, tc := range []struct {
		name string
		warm bool
	}{{"read-once", false}, {"warm-in-L1", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var d struct{ ID string }
			if st := a.post("/api/v1/detectors", map[string]any{"algorithm": "isolation_forest", "parameters": map[string]any{"seed": 1}}, &d); st != http.StatusCreated {
				t.Fatalf("create: %d", st)
			}
			retrainReaches(t, d.ID, tc.warm)
		})
	}

	// A detector b never read: its first prediction is the retrained model's.
	var d struct{ ID string }
	a.post("/api/v1/detectors", map[string]any{"algorithm": "isolation_forest", "parameters": map[string]any{"seed": 1}}, &d)
	for _, off := range []float64{0, 20} {
		if st := a.post("/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": trainRows(off)}, nil); st != http.StatusOK {
			t.Fatalf("train on a: %d", st)
		}
	}
	if got, want := b.score(d.ID, row), a.score(d.ID, row); got != want {
		t.Errorf("a detector b never read: b scores %v, a %v", got, want)
	}
	if t.Failed() {
		t.Logf("a's log:\n%s\nb's log:\n%s", a.logs.String(), b.logs.String())
	}
}

// The scale-out flags: bad values are usage errors (exit 2) naming the flag and its range;
// good ones pass the checks (serve then stops at an address in use, exit 1).
func TestServeScaleOutFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--cache-ttl", "0s"}, "--cache-ttl 0s: must be from 1s to 720h (30 days)"},
		{[]string{"--cache-ttl", "500ms"}, "--cache-ttl 500ms: must be from 1s"},
		{[]string{"--cache-ttl", "721h"}, "--cache-ttl 721h0m0s: must be from 1s to 720h"},
		{[]string{"--cache-ttl", "soon"}, "soon"},
		{[]string{"--train-memory-limit", "-1"}, "must not be negative"},
		{[]string{"--train-memory-limit", "1000TiB"}, "--train-memory-limit 1000TiB: must be at most the"},
		{[]string{"--train-memory-limit", "lots"}, "512MiB"},
		{[]string{"--train-memory-wait", "0s"}, "--train-memory-wait 0s: must be positive"},
		{[]string{"--instance", ""}, "--instance: the name may not be empty"},
		{[]string{"--instance", "a\nb"}, "printable characters only"},
		{[]string{"--instance", strings.Repeat("x", 129)}, "at most 128 bytes"},
	} {
		code, _, stderr := gonomaly(t, append([]string{"serve"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.msg)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, args := range [][]string{
		{"--cache-ttl", "1s", "--train-memory-limit", "off", "--instance", "eu-west-1/a"},
		{"--cache-ttl", "720h", "--train-memory-limit", "512MiB", "--train-memory-wait", "5m"},
	} {
		code, _, stderr := gonomaly(t, append([]string{"serve", "--addr", l.Addr().String()}, args...)...)
		if code != 1 || !strings.Contains(stderr, "address already in use") {
			t.Errorf("%q: exit %d, stderr %q; want the listen error", args, code, stderr)
		}
	}
	cmd := newServeCmd()
	if err := cmd.ParseFlags([]string{"--train-memory-limit", "OFF"}); err != nil {
		t.Fatal(err)
	}
	if v := cmd.Flags().Lookup("train-memory-limit").Value.String(); v != "off" {
		t.Errorf("--train-memory-limit OFF reads as %s", v)
	}
	_, help, _ := gonomaly(t, "serve", "--help")
	for _, want := range []string{"--instance", "instance_id", "--cache-ttl", "30 days", "--train-memory-limit", "3/4 of the memory", "--train-memory-wait", "short of memory"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

// --optimize's cache_ttl sets the cache's TTL unless --cache-ttl is given.
func TestServeOptimizeFileCacheTTL(t *testing.T) {
	file := filepath.Join(t.TempDir(), "opt.yaml")
	if err := os.WriteFile(file, []byte("cache_ttl: 10m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"--optimize", file}, 10 * time.Minute},
		{[]string{"--optimize", file, "--cache-ttl", "30s"}, 30 * time.Second},
		{nil, time.Hour},
	} {
		f := &serveFlags{}
		cmd := serveOptimizeCmd(f)
		cmd.Flags().DurationVar(&f.cacheTTL, "cache-ttl", time.Hour, "")
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := f.opt.apply(cmd, f, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.cacheTTL != tc.want {
			t.Errorf("%v: cache TTL %v, want %v", tc.args, f.cacheTTL, tc.want)
		}
	}
}
