package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// reportDB is a store with an hour of service samples and one alert, from 2026-11-16 08:00 UTC.
func reportDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "r.db")
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC)
	var ss []store.Sample
	for i := range 60 {
		at := t0.Add(time.Duration(i) * time.Minute)
		svc := map[string]string{"operation": "service"}
		ss = append(ss, store.Sample{Time: at, Name: "operation_p99_seconds", Value: 0.01 + 0.0001*float64(i), Labels: svc},
			store.Sample{Time: at, Name: "operation_throughput", Value: 50, Labels: svc},
			store.Sample{Time: at, Name: "process_rss_bytes", Value: 1e8})
	}
	if err := st.AddSamples(ctx, ss...); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAlert(ctx, &store.Alert{Rule: "latency", Severity: "high", Metric: "p99", Title: "slow", Message: "slow",
		CreatedAt: t0.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	return url
}

func TestPerformanceReportJSON(t *testing.T) {
	db := reportDB(t)
	code, stdout, stderr := gonomaly(t, "performance", "report", "--database", db, "--since", "2026-11-16T08:00:00Z",
		"--until", "2026-11-16T09:00:00Z", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Version int    `json:"version"`
		Kind    string `json:"kind"`
		Summary struct {
			Health string `json:"health"`
		} `json:"summary"`
		Series []struct {
			Samples int `json:"samples"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %.300s", err, stdout)
	}
	if r.Version != 1 || r.Kind != "report" || r.Summary.Health != "critical" || len(r.Series) != 3 || r.Series[0].Samples != 60 {
		t.Errorf("report %+v: want version 1, kind report, critical (a high alert is active), 3 series of 60 samples", r)
	}
}

func TestPerformanceReportHTMLFile(t *testing.T) {
	db := reportDB(t)
	out := filepath.Join(t.TempDir(), "report.html")
	code, stdout, stderr := gonomaly(t, "perf", "report", "--database", db, "--time-period", "2h", "--until", "2026-11-16T09:30:00Z",
		"--format", "html", "--output", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "<!DOCTYPE html>") || strings.Count(string(b), `<svg class="chart"`) != 3 {
		t.Errorf("page of %d bytes, %d charts, want 3", len(b), strings.Count(string(b), `<svg class="chart"`))
	}
	if !strings.Contains(stderr, "report.html") {
		t.Errorf("stderr %q does not say where the report went", stderr)
	}
}

func TestPerformanceReportPDFFile(t *testing.T) {
	db := reportDB(t)
	out := filepath.Join(t.TempDir(), "report.pdf")
	code, stdout, stderr := gonomaly(t, "performance", "report", "--database", db, "--since", "2026-11-16T08:00:00Z",
		"--until", "2026-11-16T09:00:00Z", "--format", "pdf", "--output", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "%PDF-") || !strings.Contains(string(b[len(b)-64:]), "%%EOF") || len(b) < 2000 {
		t.Errorf("not a whole PDF: %d bytes, starting %.16q", len(b), b)
	}
}

func TestPerformanceReportUsage(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "none.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, "want json, html or pdf"},
		{[]string{"--time-period", "7x"}, "--time-period"},
		{[]string{"--time-period", "0d"}, "--time-period"},
		{[]string{"--time-period", "-5h"}, "must be positive"},
		{[]string{"--since", "2026-11-16", "--time-period", "7d"}, "give one"},
		{[]string{"--since", "yesterday"}, "--since"},
		{[]string{"--since", "2026-11-17", "--until", "2026-11-16"}, "empty"},
	} {
		code, _, stderr := gonomaly(t, append([]string{"performance", "report", "--database", db}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parsePeriod(in); err != nil || got != want {
			t.Errorf("parsePeriod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
