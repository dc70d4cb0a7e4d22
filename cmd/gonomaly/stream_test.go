package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
)

// TestStreamingMemoryBounded scores a file, CSV and then the same rows as Parquet, through a
// saved model and checks that the heap never holds more than a few chunks' worth, however
// large the file.
func TestStreamingMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 25 MB file")
	}
	dir := t.TempDir()
	const rows, cols = 300_000, 8
	big := filepath.Join(dir, "big.csv")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 1000, Cols: cols, Contamination: 0.01, Seed: 1})
	for j := 0; j < cols; j++ {
		if j > 0 {
			w.WriteByte(',')
		}
		w.WriteString("f" + strconv.Itoa(j))
	}
	w.WriteByte('\n')
	var b []byte
	for i := 0; i < rows; i++ {
		b = b[:0]
		for j, v := range X.Row(i % X.Rows) {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, v, 'g', 10, 64)
		}
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	small := filepath.Join(dir, "small.csv")
	if err := os.WriteFile(small, []byte(firstLines(t, big, 2001)), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.gnm")
	if code, _, stderr := gonomaly(t, "train", "-a", "isolation_forest", "-i", small, "-m", model); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	pq := filepath.Join(dir, "big.parquet")
	tab, err := dataset.ReadCSVFile(big, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pb bytes.Buffer
	// Row groups of 20,000 rows, as a writer that streams would make: the reader holds one
	// page of each column at a time, so a group's size is part of what the heap may grow by.
	if err := dataset.WriteParquet(&pb, tab, "", 20_000); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pq, pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, pb = nil, bytes.Buffer{}
	for _, in := range []string{big, pq} {
		heapWhileScoring(t, model, in, rows, cols)
	}
}

// heapWhileScoring runs detect --model on in and checks how much the heap grows meanwhile.
func heapWhileScoring(t *testing.T, model, in string, rows, cols int) {
	t.Helper()

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	code, _, stderr := gonomaly(t, "detect", "--model", model, "-i", in, "-o", filepath.Join(t.TempDir(), "s.csv"), "--chunk-rows", "4096")
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("detect: %s", stderr)
	}
	grew := int64(peak) - int64(base.HeapAlloc)
	whole := int64(rows * cols * 8)
	t.Logf("%s: heap grew by at most %.1f MB while streaming %d rows (the whole matrix would be %.1f MB)", filepath.Base(in), float64(grew)/1e6, rows, float64(whole)/1e6)
	// CSV holds a chunk and the reader's line buffer (measured 3.4-3.8 MB); Parquet also a page
	// of every column and the library's decode buffers (measured 6.1-8.7 MB, more under the
	// race detector). Either way well under the whole matrix.
	limit := int64(8 << 20)
	if strings.HasSuffix(in, ".parquet") {
		limit = 12 << 20
	}
	if grew > limit || grew > whole*2/3 {
		t.Errorf("heap grew by %d bytes streaming a %d-byte matrix: not bounded by the chunk size", grew, whole)
	}
}

func firstLines(t *testing.T, path string, n int) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	var out []byte
	for i := 0; i < n && s.Scan(); i++ {
		out = append(append(out, s.Bytes()...), '\n')
	}
	return string(out)
}
