package detector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// collect is a ScoreWriter that keeps what it is given; failAfter > 0 makes the write of
// that many rows fail.
type collect struct {
	scores    []float64
	flags     []bool
	failAfter int
}

func (c *collect) Write(s []float64, f []bool) error {
	if c.failAfter > 0 && len(c.scores)+len(s) >= c.failAfter {
		return errors.New("disk full")
	}
	c.scores = append(c.scores, s...)
	c.flags = append(c.flags, f...)
	return nil
}

func (c *collect) Close() error { return nil }

// csvOf writes X as CSV with columns f0...; bad, when not empty, replaces the cell of row
// badRow (1-based), column 0.
func csvOf(X *dataset.Matrix, badRow int, bad string) string {
	var b strings.Builder
	for j := 0; j < X.Cols; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString("f" + strconv.Itoa(j))
	}
	b.WriteByte('\n')
	for i := 0; i < X.Rows; i++ {
		for j, v := range X.Row(i) {
			if j > 0 {
				b.WriteByte(',')
			}
			if i+1 == badRow && j == 0 {
				b.WriteString(bad)
				continue
			}
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func fitted(t testing.TB, algo string, X *dataset.Matrix) *detector.Model {
	t.Helper()
	m, err := detector.NewModel(algo, nil, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkNoLeak fails the test if goroutines started during it are still running shortly after.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for range 100 {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("%d goroutines before, %d after", before, runtime.NumGoroutine())
	})
}

// TestScoreStreamSameAsScore: for every algorithm and several chunk sizes, the streamed
// scores are Score's on the whole matrix, in order, with the flags of the threshold.
func TestScoreStreamSameAsScore(t *testing.T) {
	checkNoLeak(t)
	train, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 300, Cols: 3, Contamination: 0.05, Seed: 1})
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 1000, Cols: 3, Contamination: 0.05, Seed: 2})
	text := csvOf(X, 0, "")
	for _, algo := range detector.Names() {
		m := fitted(t, algo, train)
		want, err := m.Score(context.Background(), X, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{1, 7, 256, 5000} {
			src, err := dataset.NewCSVReader(strings.NewReader(text), dataset.Options{ChunkRows: chunk})
			if err != nil {
				t.Fatal(err)
			}
			var w collect
			n, err := m.ScoreStream(context.Background(), src, &w)
			if err != nil || n != X.Rows || len(w.scores) != X.Rows {
				t.Fatalf("%s, chunks of %d: %d rows, %d scores, err %v", algo, chunk, n, len(w.scores), err)
			}
			for i := range want {
				if w.scores[i] != want[i] || w.flags[i] != m.IsAnomaly(want[i]) {
					t.Fatalf("%s, chunks of %d: row %d: %v %v, Score gives %v", algo, chunk, i, w.scores[i], w.flags[i], want[i])
				}
			}
		}
	}
}

func TestScoreStreamErrors(t *testing.T) {
	checkNoLeak(t)
	train, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 300, Cols: 3, Contamination: 0.05, Seed: 1})
	m := fitted(t, "hbos", train)
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 100, Cols: 3, Contamination: 0.05, Seed: 2})
	src := func(text string) dataset.Source {
		s, err := dataset.NewCSVReader(strings.NewReader(text), dataset.Options{ChunkRows: 10, Name: "in.csv"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A bad cell in row 45: the 40 rows of the chunks before it are scored and written.
	var w collect
	n, err := m.ScoreStream(context.Background(), src(csvOf(X, 45, "x")), &w)
	if !errors.Is(err, dataset.ErrNotNumeric) || !strings.Contains(err.Error(), `in.csv: row 45, column "f0"`) || n != 40 || len(w.scores) != 40 {
		t.Errorf("bad cell: n = %d, %d written, err = %v", n, len(w.scores), err)
	}
	// The writer fails.
	n, err = m.ScoreStream(context.Background(), src(csvOf(X, 0, "")), &collect{failAfter: 25})
	if err == nil || err.Error() != "disk full" || n != 20 {
		t.Errorf("writer error: n = %d, err = %v", n, err)
	}
	// Another width.
	wide, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 10, Cols: 4, Contamination: 0.1, Seed: 2})
	if _, err := m.ScoreStream(context.Background(), src(csvOf(wide, 0, "")), &collect{}); !errors.Is(err, detector.ErrDimension) {
		t.Errorf("4 columns for a 3-column model: %v", err)
	}
	// Not fitted.
	u, _ := detector.NewModel("hbos", nil, 0.1)
	if _, err := u.ScoreStream(context.Background(), src(csvOf(X, 0, "")), &collect{}); !errors.Is(err, detector.ErrNotFitted) {
		t.Errorf("unfitted model: %v", err)
	}
	// Cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.ScoreStream(ctx, src(csvOf(X, 0, "")), &collect{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// endless is a Source of the same chunk forever, counting its calls.
type endless struct {
	x     *dataset.Matrix
	calls int
}

func (e *endless) Columns() []string { return make([]string, e.x.Cols) }
func (e *endless) Labels() []int     { return nil }
func (e *endless) Next(ctx context.Context) (*dataset.Matrix, error) {
	e.calls++
	return e.x, ctx.Err()
}

// TestScoreStreamCancelMidway: cancelling an endless stream returns promptly, having read at
// most a few chunks ahead of what was scored.
func TestScoreStreamCancelMidway(t *testing.T) {
	checkNoLeak(t)
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 64, Cols: 3, Contamination: 0.05, Seed: 2})
	m := fitted(t, "hbos", X)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var reports []int64
	ctx = detector.WithProgress(ctx, func(phase string, done, total int64) {
		if phase != "score" || total != 0 {
			t.Errorf("progress %q %d/%d", phase, done, total)
		}
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, done)
		if done >= 64*100 {
			cancel()
		}
	})
	src := &endless{x: X}
	n, err := m.ScoreStream(ctx, src, &collect{})
	if !errors.Is(err, context.Canceled) || n != 64*100 {
		t.Fatalf("n = %d, err = %v", n, err)
	}
	if src.calls > 100+3 {
		t.Errorf("%d chunks read for 100 scored", src.calls)
	}
	for i, d := range reports {
		if d != int64(64*(i+1)) {
			t.Fatalf("progress reports %v", reports[:i+1])
		}
	}
}

func TestReportProgressWithoutHook(t *testing.T) {
	detector.ReportProgress(context.Background(), "fit", 1, 2) // no hook: nothing happens
	if allocs := testing.AllocsPerRun(100, func() { detector.ReportProgress(context.Background(), "fit", 1, 2) }); allocs != 0 {
		t.Errorf("%v allocations a report without a hook", allocs)
	}
}

// A model scores a file of any size through ScoreStream a chunk at a time, writing each
// chunk's scores as soon as they are known.
func ExampleModel_ScoreStream() {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: 2, Contamination: 0.02, Seed: 1})
	m, _ := detector.NewModel("hbos", nil, 0.02)
	if _, err := m.Fit(context.Background(), X); err != nil {
		fmt.Println(err)
		return
	}
	src, _ := dataset.NewCSVReader(strings.NewReader("x,y\n0.1,0.2\n90,-90\n"), dataset.Options{ChunkRows: 1})
	var out bytes.Buffer
	w := dataset.NewCSVScoreWriter(&out)
	n, err := m.ScoreStream(context.Background(), src, w)
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	fmt.Println(n, err)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fmt.Println(lines[0], "...", strings.HasSuffix(lines[2], ",1"))
	// Output:
	// 2 <nil>
	// score,is_anomaly ... true
}

func BenchmarkScoreStream(b *testing.B) {
	train, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 2000, Cols: 12, Contamination: 0.01, Seed: 1})
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 100_000, Cols: 12, Contamination: 0.01, Seed: 2})
	text := csvOf(X, 0, "")
	m := fitted(b, "isolation_forest", train)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := dataset.NewCSVReader(strings.NewReader(text), dataset.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.ScoreStream(context.Background(), src, dataset.NewCSVScoreWriter(io.Discard)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(X.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
