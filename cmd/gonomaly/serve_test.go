package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestServeFlagErrorsAreUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"serve", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--batch-max", "0"}, "--batch-max"},
		{[]string{"serve", "extra"}, "unknown command"},
		{[]string{"serve", "--api-key-hash", "abc"}, "64 hex digits"},
		{[]string{"serve", "--max-body-bytes", "0"}, "--max-body-bytes 0: must be at least 1 byte"},
		{[]string{"serve", "--max-body-bytes", "-5"}, "must not be negative"},
		{[]string{"serve", "--max-body-bytes", "lots"}, "512MiB"},
		{[]string{"serve", "--request-timeout", "0s"}, "--request-timeout 0s: must be positive"},
		{[]string{"serve", "--request-timeout", "-1s"}, "--request-timeout -1s: must be positive"},
		{[]string{"serve", "--train-wait", "-1s"}, "--train-wait -1s: must be positive"},
		{[]string{"serve", "--train-wait", "0s"}, "--train-wait 0s: must be positive"},
		{[]string{"serve", "--batch-wait", "-1ms"}, "--batch-wait -1ms: must be at least 0 and less than --request-timeout"},
		{[]string{"serve", "--batch-wait", "2m"}, "less than --request-timeout (1m0s)"},
		{[]string{"serve", "--batch-max", "100000000"}, "--batch-max 100000000: must be from 1 to 65536"},
		{[]string{"serve", "--body-timeout", "-1s"}, "--body-timeout -1s: must not be negative"},
		{[]string{"serve", "--max-in-flight", "-1"}, "--max-in-flight -1: must be from 1 to"},
		{[]string{"serve", "--max-in-flight", "1000000000"}, "--max-in-flight 1000000000"},
		{[]string{"serve", "--max-in-flight-bytes", "-1GiB"}, "must not be negative"},
		{[]string{"serve", "--max-in-flight-bytes", "1MiB"}, "--max-in-flight-bytes 1MiB: must be at least --max-body-bytes (32MiB)"},
		{[]string{"serve", "--max-jobs", "-3"}, "--max-jobs -3: must be from 1 to"},
		{[]string{"serve", "--train-memory-budget", "1000TiB"}, "--train-memory-budget 1000TiB: must be at most the"},
		{[]string{"serve", "--train-memory-budget", "1.5"}, "not a whole number of bytes"},
		{[]string{"serve", "--train-time-budget", "-1h"}, "--train-time-budget -1h0m0s: must not be negative"},
		{[]string{"serve", "--cache-mb", "-1"}, "--cache-mb -1: must be from 1 to"},
		{[]string{"serve", "--db-acquire-timeout", "0s"}, "--db-acquire-timeout 0s: must be positive"},
		{[]string{"serve", "--db-recycle", "-1s"}, "--db-recycle -1s: must be positive"},
		{[]string{"serve", "--max-streams", "-1"}, "--max-streams -1: must be from 1 to 4096"},
		{[]string{"serve", "--max-streams", "100000"}, "--max-streams 100000"},
		{[]string{"serve", "--stream-batch-rows", "1000000"}, "--stream-batch-rows 1000000: must be from 1 to 65536"},
		{[]string{"serve", "--stream-idle-timeout", "-1s"}, "--stream-idle-timeout -1s: must not be negative"},
		{[]string{"serve", "--stream-max-duration", "10000h"}, "--stream-max-duration 10000h0m0s: must be from 0"},
	} {
		code, _, stderr := gonomaly(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.msg)
		}
	}
	code, _, stderr := gonomaly(t, "serve", "--addr", "127.0.0.1:1", "--database", "nosuch://x")
	if code != 1 || !strings.Contains(stderr, "nosuch") {
		t.Errorf("unknown database scheme: exit %d, %q", code, stderr)
	}
}

// gonomaly serve starts with an SQLite file and stops cleanly on its context (SIGINT/SIGTERM).
func TestServeStartsAndStops(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	db := filepath.Join(t.TempDir(), "g.db")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database", "sqlite:" + db, "--log-format", "json"}, &bytes.Buffer{}, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not become ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s of its context ending")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no structured stop record in the log:\n%s", stderr.String())
	}
}

// --api-key works but warns that the key shows in the process list; the environment does not.
func TestServeAPIKeyFlagWarns(t *testing.T) {
	// An address in use makes serve stop right after the checks and the warning.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	warning := "--api-key puts the key in the process list; use $GONOMALY_API_KEYS or --api-key-hash"
	code, _, stderr := gonomaly(t, "serve", "--addr", l.Addr().String(), "--api-key", "s3cret")
	if code != 1 || !strings.Contains(stderr, warning) {
		t.Errorf("--api-key: exit %d, stderr %q; want the warning", code, stderr)
	}
	if strings.Contains(stderr, "s3cret") {
		t.Errorf("the key itself is in the output: %q", stderr)
	}
	t.Setenv("GONOMALY_API_KEYS", "s3cret")
	if _, _, stderr := gonomaly(t, "serve", "--addr", l.Addr().String()); strings.Contains(stderr, "process list") {
		t.Errorf("$GONOMALY_API_KEYS warned: %q", stderr)
	}
	_, help, _ := gonomaly(t, "serve", "--help")
	for _, want := range []string{"$GONOMALY_API_KEYS", "--api-key-hash", "process list"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
}

func TestServeLimitFlagsDefaultsInHelp(t *testing.T) {
	_, help, _ := gonomaly(t, "serve", "--help")
	for _, want := range []string{"--body-timeout", "the default, 30s", "--max-in-flight ", "the default, 256", "--max-in-flight-bytes",
		"--max-jobs", "the default, 16", "--train-memory-budget", "--train-time-budget", "the default, 1h", "512MiB"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

// Valid limit flags pass the checks: serve gets as far as listening (here on an address in
// use, so it stops there with a runtime error, not a usage error).
func TestServeLimitFlagsValid(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, _, stderr := gonomaly(t, "serve", "--addr", l.Addr().String(), "--max-in-flight-bytes", "1GiB", "--train-memory-budget", "512MiB",
		"--body-timeout", "5s", "--max-in-flight", "10", "--max-jobs", "3", "--train-time-budget", "10m", "--max-body-bytes", "1MiB",
		"--db-pool-size", "0", "--db-max-overflow", "0", "--db-pre-ping", "0s", "--batch-wait", "1ms")
	if code != 1 || !strings.Contains(stderr, "address already in use") {
		t.Errorf("exit %d, stderr %q; want the listen error", code, stderr)
	}
	cmd := newServeCmd()
	if err := cmd.ParseFlags([]string{"--max-in-flight-bytes", "1.5GiB", "--max-body-bytes", "1048576"}); err != nil {
		t.Fatal(err)
	}
	if v := cmd.Flags().Lookup("max-in-flight-bytes").Value.String(); v != "1536MiB" {
		t.Errorf("--max-in-flight-bytes 1.5GiB reads as %s", v)
	}
	if v := cmd.Flags().Lookup("max-body-bytes").Value.String(); v != "1MiB" {
		t.Errorf("--max-body-bytes 1048576 reads as %s", v)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""}, {"1048576", 1 << 20, ""}, {"512MiB", 512 << 20, ""}, {"1GiB", 1 << 30, ""}, {"1gib", 1 << 30, ""},
		{"1.5GiB", 3 << 29, ""}, {"2 KiB", 2048, ""}, {"10kB", 10000, ""}, {"3MB", 3e6, ""}, {"1TB", 1e12, ""}, {"7B", 7, ""},
		{"", 0, "no number"}, {"MiB", 0, "no number"}, {"-1", 0, "negative"}, {"-2MiB", 0, "negative"}, {"x", 0, "not a number"},
		{"1.5", 0, "whole number"}, {"NaN", 0, "not a number"}, {"inf", 0, "not a number"}, {"9999999TiB", 0, "too large"},
		{"99999999999999999999", 0, "too large"}, {"1e30", 0, "too large"}, {"5 parsecs", 0, "not a number"},
	} {
		got, err := parseSize(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("parseSize(%q) = %d, %v; want an error saying %q", tc.in, got, err, tc.err)
		}
	}
	for _, n := range []int64{0, 1, 1023, 1024, 3 << 29, 1 << 40, 5 << 40, 123456789} {
		if got, err := parseSize(formatSize(n)); err != nil || got != n {
			t.Errorf("formatSize(%d) = %q reads back as %d, %v", n, formatSize(n), got, err)
		}
	}
}
