package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/server"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// monitor --status asks a running service, as text and as JSON.
func TestMonitorStatusFromService(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, server.Config{Store: st, APIKeyHashes: []string{server.HashAPIKey("k")}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	srv.Monitor().Tracker().Record("POST /api/v1/detection/predict", 3*time.Millisecond, 1, nil)

	code, out, stderr := gonomaly(t, "performance", "monitor", "--status", "--url", hs.URL, "--api-key", "k")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"gonomaly monitor: " + hs.URL, "health: OK", "store ok", "POST /api/v1/detection/predict", "P99", "alerts: 0 active"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = gonomaly(t, "perf", "monitor", "--url", hs.URL+"/api/v1", "--api-key", "k", "--json")
	var s monitor.Status
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Service.Count != 1 || len(s.Operations) < 1 {
		t.Fatalf("--json: exit %d, %q", code, out)
	}
	code, _, stderr = gonomaly(t, "performance", "monitor", "--url", hs.URL, "--api-key", "wrong")
	if code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("wrong key: exit %d, %q", code, stderr)
	}
}

// Without --url it reads what a service stored; with nothing stored it says so.
func TestMonitorStatusFromStore(t *testing.T) {
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, _, stderr := gonomaly(t, "performance", "monitor", "--status", "--database", db)
	if code != 1 || !strings.Contains(stderr, "no figures") || !strings.Contains(stderr, "--url") {
		t.Errorf("empty store: exit %d, %q", code, stderr)
	}
	now := time.Now()
	op := map[string]string{"operation": "POST /api/v1/detection/predict"}
	if err := st.AddSamples(ctx,
		store.Sample{Time: now, Name: "operation_count", Value: 42, Labels: op},
		store.Sample{Time: now, Name: "operation_p99_seconds", Value: 0.004, Labels: op},
		store.Sample{Time: now, Name: "process_rss_bytes", Value: 50e6},
	); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := gonomaly(t, "performance", "monitor", "--status", "--database", db)
	if code != 0 || !strings.Contains(out, "POST /api/v1/detection/predict  42") || !strings.Contains(out, "4ms") || !strings.Contains(out, "rss 47.7 MiB") {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, stderr, out)
	}
}

// --watch redraws until interrupted.
func TestMonitorWatch(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, server.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	wctx, cancel := context.WithTimeout(ctx, 450*time.Millisecond)
	defer cancel()
	var o, e strings.Builder
	if code := run(wctx, []string{"performance", "monitor", "--watch", "--interval", "100ms", "--url", hs.URL}, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	if n := strings.Count(o.String(), "gonomaly monitor:"); n < 3 {
		t.Errorf("%d redraws in 450 ms at 100 ms:\n%s", n, o.String())
	}
}

func TestMonitorFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"performance", "monitor", "--status", "--watch"}, "give one"},
		{[]string{"performance", "monitor", "--watch", "--interval", "1ms"}, "--interval 1ms"},
		{[]string{"performance", "monitor", "--url", "http://x", "--database", "sqlite:y"}, "give one"},
		{[]string{"performance", "monitor", "--recent", "0s"}, "--recent"},
		{[]string{"serve", "--monitor-interval", "1ms"}, "--monitor-interval"},
		{[]string{"serve", "--sample-interval", "1h"}, "--sample-interval"},
		{[]string{"serve", "--alert-cooldown", "-1s"}, "--alert-cooldown"},
		{[]string{"serve", "--thresholds", "nope.txt"}, "--thresholds"},
		{[]string{"serve", "--warning-cpu", "90", "--max-cpu", "50"}, "thresholds"},
		{[]string{"serve", "--max-error-rate", "2"}, "thresholds"},
		{[]string{"serve", "--alert-webhook", "ftp://x"}, "--alert-webhook"},
	} {
		code, _, stderr := gonomaly(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.msg)
		}
	}
	code, _, stderr := gonomaly(t, "performance", "monitor", "--url", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("nothing listening: exit %d, %q", code, stderr)
	}
}
