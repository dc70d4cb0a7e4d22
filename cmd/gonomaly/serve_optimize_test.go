package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// serveOptimizeCmd is a command with the serve flags --optimize fills, as newServeCmd
// registers them.
func serveOptimizeCmd(f *serveFlags) *cobra.Command {
	cmd := &cobra.Command{}
	fl := cmd.Flags()
	fl.IntVar(&f.batchMax, "batch-max", 256, "")
	fl.DurationVar(&f.batchWait, "batch-wait", 0, "")
	fl.IntVar(&f.cacheMB, "cache-mb", 256, "")
	f.opt.register(fl)
	return cmd
}

func TestServeOptimizeFileUnderFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "opt.yaml")
	if err := os.WriteFile(file, []byte("batch_size: 64\nbatch_wait: 2ms\ncache_size_mb: 32\nmax_workers: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		max     int
		wait    time.Duration
		cacheMB int
	}{
		{[]string{"--optimize", file}, 64, 2 * time.Millisecond, 32},
		{[]string{"--optimize", file, "--batch-max", "10", "--cache-mb", "8"}, 10, 2 * time.Millisecond, 8},
		{[]string{"--optimize", file, "--batch-wait", "0s"}, 64, 0, 32},
		{[]string{"--batch-max", "10"}, 10, 0, 256},
	} {
		f := &serveFlags{}
		cmd := serveOptimizeCmd(f)
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := f.opt.apply(cmd, f, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.batchMax != tc.max || f.batchWait != tc.wait || f.cacheMB != tc.cacheMB {
			t.Errorf("%v: batch-max %d, batch-wait %v, cache-mb %d; want %d, %v, %d", tc.args, f.batchMax, f.batchWait, f.cacheMB, tc.max, tc.wait, tc.cacheMB)
		}
		if want := map[bool]int{true: 3, false: 0}[f.opt.file != ""]; f.opt.workers != want {
			t.Errorf("%v: workers %d, want %d", tc.args, f.opt.workers, want)
		}
	}
}

func TestServeOptimizeBadFileIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, msg string }{
		{"typo.yaml", "batch_sise: 10\n", `unknown field "batch_sise"`},
		{"range.json", `{"batch_size": 0}`, "batch_size 0: must be from 1 to 65536"},
		{"huge.yaml", "cache_size_mb: 1048576\n", "cache_size_mb"},
	} {
		file := filepath.Join(dir, tc.name)
		if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := gonomaly(t, "serve", "--addr", "127.0.0.1:1", "--optimize", file)
		if code != 2 || !strings.Contains(stderr, "--optimize") || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming --optimize and %q", tc.name, code, stderr, tc.msg)
		}
	}
	code, _, stderr := gonomaly(t, "serve", "--optimize", filepath.Join(dir, "missing.yaml"))
	if code != 2 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
}
