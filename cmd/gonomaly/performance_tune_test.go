package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/server"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// tuneService is an in-process service with API key "k" (none when key is empty).
func tuneService(t *testing.T, key string) (base string, c *apiClient) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "g.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Store: st}
	if key != "" {
		cfg.APIKeyHashes = []string{server.HashAPIKey(key)}
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	base = hs.URL + "/api/v1"
	return base, &apiClient{base: base, key: key, http: &http.Client{Timeout: 30 * time.Second}}
}

func tuneArgs(base string, extra ...string) []string {
	return append([]string{"performance", "tune", "--url", base, "--api-key", "k", "--step-duration", "200ms",
		"--clients", "4", "--cols", "4", "--database", "none", "--json"}, extra...)
}

// Against a service, with a lenient target: the tune measures before, tries settings, keeps
// the fastest within the target, leaves it applied, measures after, and deletes its
// throwaway detector.
func TestTuneLivePicksASettingWithinTheTarget(t *testing.T) {
	base, c := tuneService(t, "k")
	ctx := context.Background()
	code, stdout, stderr := gonomaly(t, tuneArgs(base, "--p99", "5s", "--budget", "8s")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc liveTuneDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if doc.Kind != store.KindTune || doc.SchemaVersion != tuneSchemaVersion || doc.Before == nil || len(doc.Trials) == 0 ||
		doc.Initial == nil || !doc.Met || doc.Best == nil || doc.After == nil || !doc.Throwaway {
		t.Fatalf("document: %s", stdout)
	}
	for _, tr := range append(append(doc.Trials, doc.Verify...), *doc.Initial, *doc.Before, *doc.After) {
		if tr.Requests == 0 || tr.SuccessRate < 0.99 || tr.Throughput <= 0 {
			t.Errorf("trial %+v: no successful load", tr)
		}
	}
	if len(doc.Verify) > 0 {
		// The search's best is the fastest trial within the target.
		best := doc.Trials[0]
		for _, tr := range doc.Trials {
			if tr.MeetsTarget && (!best.MeetsTarget || tr.Throughput > best.Throughput) {
				best = tr
			}
		}
		if best.BatchMax != doc.Best.BatchMax || best.Workers != doc.Best.Workers || best.BatchWait != doc.Best.BatchWait {
			t.Errorf("the search's best is %+v, the document says %+v", best, *doc.Best)
		}
	}
	if !doc.Applied {
		// The original stayed: the search found nothing better, or it lost in the rounds.
		doc.Best = doc.Initial
	}
	got, _, err := c.getTuning(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.BatchMax != doc.Best.BatchMax || got.Workers != doc.Best.Workers || got.BatchWait.String() != doc.Best.BatchWait {
		t.Errorf("the service runs %s, the best was %+v", got, *doc.Best)
	}
	var list struct {
		Detectors []any `json:"detectors"`
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/detectors", nil, &raw); err != nil {
		t.Fatal(err)
	}
	if json.Unmarshal(raw, &list) == nil && len(list.Detectors) != 0 || json.Unmarshal(raw, &list) != nil && !bytes.Contains(raw, []byte("[]")) {
		t.Errorf("the throwaway detector is still there: %s", raw)
	}
}

// A target nothing can meet: exit 1 saying so, and the original settings are back.
func TestTuneLiveRestoresWhenNothingMeetsTheTarget(t *testing.T) {
	base, c := tuneService(t, "k")
	ctx := context.Background()
	orig := batchSetting{BatchMax: 7, BatchWait: 3 * time.Millisecond, Workers: 3}
	if err := c.putTuning(ctx, orig); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gonomaly(t, tuneArgs(base, "--p99", "1ns", "--budget", "4s")...)
	if code != 1 || !strings.Contains(stderr, "no setting met the target") || !strings.Contains(stderr, "original settings") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, _, err := c.getTuning(ctx); err != nil || got != orig {
		t.Fatalf("after the tune: %s, %v; want the original %s", got, err, orig)
	}
}

// Ctrl-C in the middle of the search: the original settings are back.
func TestTuneLiveRestoresOnCancel(t *testing.T) {
	base, c := tuneService(t, "k")
	ctx := context.Background()
	orig := batchSetting{BatchMax: 5, BatchWait: 0, Workers: 2}
	if err := c.putTuning(ctx, orig); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(rctx, tuneArgs(base, "--p99", "5s", "--budget", "30s"), &bytes.Buffer{}, &stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _, err := c.getTuning(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != orig {
			break // the search has applied a setting of its own
		}
		if time.Now().After(deadline) {
			t.Fatal("the tune changed no setting in 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("cancelled tune: exit 0: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled tune did not return in 30 s")
	}
	if got, _, err := c.getTuning(ctx); err != nil || got != orig {
		t.Fatalf("after Ctrl-C: %s, %v; want the original %s (%s)", got, err, orig, stderr.String())
	}
}

// A service without keys refuses the admin endpoint: the tune says why and changes nothing.
func TestTuneLiveNeedsAKeyedService(t *testing.T) {
	base, _ := tuneService(t, "")
	code, _, stderr := gonomaly(t, tuneArgs(base, "--p99", "10ms")...)
	if code != 1 || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "API key") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestTuneFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"performance", "tune"}, "give --url"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--model", "m"}, "not both"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1"}, "--p99 0s"},
		{[]string{"performance", "tune", "--url", "ftp://x", "--p99", "1ms"}, "--url"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--p99", "1ms", "--budget", "1s"}, "--budget 1s: too short"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--p99", "1ms", "--budget", "2h"}, "at most 1h"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--p99", "1ms", "--clients", "0"}, "--clients 0"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--p99", "1ms", "--rows", "0"}, "--rows 0"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--p99", "1ms", "--min-success", "2"}, "--min-success 2"},
		{[]string{"performance", "tune", "--url", "http://x/api/v1", "--p99", "1ms", "--step-duration", "1ms"}, "--step-duration 1ms"},
		{[]string{"performance", "tune", "--model", "m"}, "needs --input"},
		{[]string{"performance", "tune", "--model", "m", "--input", "-"}, "give a file"},
		{[]string{"performance", "tune", "--model", "m", "--input", "x.csv", "--repeat", "0"}, "--repeat 0"},
	} {
		code, _, stderr := gonomaly(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.msg)
		}
	}
}

// Offline, on a small file: every setting timed within the budget, the fastest no slower
// than the defaults, and GOMAXPROCS as it was.
func TestTuneOffline(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "forest.gnm")
	if code, _, stderr := gonomaly(t, "train", "-a", "isolation_forest", "-i", wbc, "--label", "label", "-m", model, "-p", "n_estimators=20"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	procs := gomaxprocs()
	code, stdout, stderr := gonomaly(t, "performance", "tune", "--model", model, "--input", wbc, "--label", "label",
		"--repeat", "1", "--budget", "60s", "--database", "none", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc offlineTuneDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if doc.Kind != store.KindTune || doc.Mode != "offline" || doc.Rows != 223 || doc.Cols != 9 || doc.Before == nil || doc.Best == nil || len(doc.Trials) < 2 {
		t.Fatalf("document: %s", stdout)
	}
	if doc.Best.Seconds > doc.Before.Seconds {
		t.Errorf("the best (%+v) is slower than the defaults (%+v)", *doc.Best, *doc.Before)
	}
	if got := gomaxprocs(); got != procs {
		t.Errorf("GOMAXPROCS %d after the tune, was %d", got, procs)
	}
	// The table on stderr without --json.
	code, _, stderr = gonomaly(t, "performance", "tune", "--model", model, "--input", wbc, "--label", "label", "--repeat", "1", "--budget", "30s", "--database", "none")
	if code != 0 || !strings.Contains(stderr, "before (defaults)") || !strings.Contains(stderr, "fastest: --chunk-rows") {
		t.Fatalf("table: exit %d: %s", code, stderr)
	}
}
