package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run that fails leaves an existing output file byte for byte as it was, and leaves no
// temporary file behind; a run that succeeds replaces it.
func TestFailedRunKeepsOutputFile(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, "bad.csv", "a,b\n1,2\n3,high\n")
	old := []byte("the previous run's output\n")
	for _, tc := range []struct {
		name   string
		file   string
		failed []string // a failing run writing to file (appended last)
		good   []string
	}{
		{"detect csv", "scores.csv", []string{"detect", "-a", "hbos", "-i", bad, "-o"}, []string{"detect", "-a", "hbos", "-i", wbc, "--label", "label", "-o"}},
		{"detect parquet", "scores.parquet", []string{"detect", "-a", "hbos", "-i", bad, "-o"}, []string{"detect", "-a", "hbos", "-i", wbc, "--label", "label", "-o"}},
		{"detect model", "model-scores.csv", []string{"detect", "--model", writeFile(t, "x.gnm", "junk"), "-i", wbc, "-o"}, nil},
		{"train", "model.gnm", []string{"train", "-a", "hbos", "-i", bad, "-m"}, []string{"train", "-a", "hbos", "-i", wbc, "--label", "label", "-m"}},
		{"perf", "perf.json", []string{"perf", "benchmark", "--algorithms", "nope", "-o"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.file)
			if err := os.WriteFile(out, old, 0o640); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := gonomaly(t, append(tc.failed, out)...)
			if code == 0 {
				t.Fatalf("the failing run succeeded: %s", stderr)
			}
			if b, _ := os.ReadFile(out); !bytes.Equal(b, old) {
				t.Errorf("a failed run changed %s to %q", tc.file, b)
			}
			assertNoTemp(t, dir)
			if tc.good == nil {
				return
			}
			if code, _, stderr := gonomaly(t, append(tc.good, out)...); code != 0 {
				t.Fatalf("good run: exit %d: %s", code, stderr)
			}
			b, _ := os.ReadFile(out)
			if bytes.Equal(b, old) || len(b) == 0 {
				t.Errorf("a good run did not replace %s", tc.file)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("the replaced file's mode: %v %v, want the old file's 0640", fi.Mode(), err)
			}
			assertNoTemp(t, dir)
		})
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// Writing through a symbolic link replaces the file it points to and keeps the link.
func TestOutputThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.csv")
	link := filepath.Join(dir, "link.csv")
	os.WriteFile(target, []byte("old"), 0o644)
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if code, _, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", wbc, "--label", "label", "-o", link); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(target); !strings.HasPrefix(string(b), "score,is_anomaly\n") {
		t.Errorf("the link's target holds %q", b)
	}
}

// An output path that cannot be written is an error before anything runs.
func TestOutputNotWritable(t *testing.T) {
	code, _, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", wbc, "--label", "label", "-o", filepath.Join(t.TempDir(), "no", "such", "dir.csv"))
	if code != 1 || !strings.Contains(stderr, "output:") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	code, _, stderr = gonomaly(t, "detect", "-a", "hbos", "-i", wbc, "--label", "label", "-o", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "not a regular file") {
		t.Errorf("a directory as output: exit %d: %s", code, stderr)
	}
}

// detect refuses to write its scores over its own input (they used to replace the data).
func TestDetectRefusesOutputOverInput(t *testing.T) {
	in := writeFile(t, "data.csv", "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n")
	before, _ := os.ReadFile(in)
	code, _, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", in, "-o", in)
	after, _ := os.ReadFile(in)
	if code != 2 || !strings.Contains(stderr, "--input") || string(after) != string(before) {
		t.Fatalf("exit %d, stderr %q; the input changed: %v", code, stderr, string(after) != string(before))
	}
}
