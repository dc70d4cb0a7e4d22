package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestDetectOptimizeFileUnderFlags(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	file := filepath.Join(t.TempDir(), "opt.json")
	if err := os.WriteFile(file, []byte(`{"chunk_rows": 1000, "memory_limit_mb": 1, "max_workers": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		chunk int
		mem   byteSize
	}{
		{[]string{"--optimize", file}, 1000, 1 << 20},
		{[]string{"--optimize", file, "--chunk-rows", "7", "--max-memory", "2MiB"}, 7, 2 << 20},
		{[]string{"--chunk-rows", "7"}, 7, 0},
	} {
		f := &detectFlags{}
		cmd := &cobra.Command{}
		fs := cmd.Flags()
		fs.IntVar(&f.chunk, "chunk-rows", 8192, "")
		fs.Var(&f.maxMemory, "max-memory", "")
		o := &optimizeDetectFlags{}
		o.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := o.apply(cmd, f); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.chunk != tc.chunk || f.maxMemory != tc.mem {
			t.Errorf("%v: chunk-rows %d, max-memory %d; want %d, %d", tc.args, f.chunk, f.maxMemory, tc.chunk, tc.mem)
		}
	}
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d after max_workers: 1", n)
	}
}

func TestDetectOptimizeBadFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, msg string }{
		{"typo.yaml", "chunk_row: 10\n", `unknown field "chunk_row"`},
		{"range.yaml", "chunk_rows: 0\n", "chunk_rows 0: must be from 1"},
		{"mem.yaml", "memory_limit_mb: 16777216\n", "memory_limit_mb 16777216 is above"},
	} {
		file := filepath.Join(dir, tc.name)
		if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		o := &optimizeDetectFlags{file: file}
		err := o.apply(&cobra.Command{}, &detectFlags{})
		if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), "--optimize") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v; want a usage error naming --optimize and %q", tc.name, err, tc.msg)
		}
	}
}

// detect reads --optimize: a good file scores as without it (the file's chunk size changes how
// the rows are read, not their scores); a bad one is a usage error.
func TestDetectOptimizeEndToEnd(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	dir := t.TempDir()
	good := filepath.Join(dir, "opt.yaml")
	if err := os.WriteFile(good, []byte("chunk_rows: 10\nmax_workers: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"detect", "-a", "hbos", "-i", wbc, "--label", "label", "--json"}
	code, want, stderr := gonomaly(t, base...)
	if code != 0 {
		t.Fatalf("without --optimize: exit %d, %s", code, stderr)
	}
	code, got, stderr := gonomaly(t, append(base, "--optimize", good)...)
	if code != 0 {
		t.Fatalf("with --optimize: exit %d, %s", code, stderr)
	}
	// The seconds differ from run to run; the rest must not.
	strip := func(s string) string {
		var keep []string
		for _, f := range strings.Split(s, ",") {
			if !strings.Contains(f, "_seconds") {
				keep = append(keep, f)
			}
		}
		return strings.Join(keep, ",")
	}
	if strip(got) != strip(want) {
		t.Errorf("with --optimize:\n%s\nwithout:\n%s", got, want)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("chunk_rows: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = gonomaly(t, append(base, "--optimize", bad)...)
	if code != 2 || !strings.Contains(stderr, "chunk_rows -1") {
		t.Errorf("bad file: exit %d, stderr %q", code, stderr)
	}
}
