package dataset

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

// matrixSource is a Source over a matrix in memory, in chunks of a given size, reusing its
// chunk as the file readers do.
type matrixSource struct {
	x     *Matrix
	chunk int
	at    int
	buf   Matrix
}

func (m *matrixSource) Columns() []string { return make([]string, m.x.Cols) }
func (m *matrixSource) Labels() []int     { return nil }

func (m *matrixSource) Next(ctx context.Context) (*Matrix, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.at >= m.x.Rows {
		return nil, io.EOF
	}
	hi := min(m.at+m.chunk, m.x.Rows)
	m.buf.Rows, m.buf.Cols = hi-m.at, m.x.Cols
	m.buf.Data = append(m.buf.Data[:0], m.x.Data[m.at*m.x.Cols:hi*m.x.Cols]...)
	m.at = hi
	return &m.buf, nil
}

// numbered returns a rows x cols matrix whose row i holds i, i+1/16, i+2/16, ...: each
// row says which it is.
func numbered(rows, cols int) *Matrix {
	x := NewMatrix(rows, cols)
	for i := range rows {
		for j := range cols {
			x.Set(i, j, float64(i)+float64(j)/16)
		}
	}
	return x
}

// rowsOf returns the stream rows a sample of numbered rows holds, checking each row whole.
func rowsOf(t *testing.T, x *Matrix) []int {
	t.Helper()
	out := make([]int, x.Rows)
	for i := range x.Rows {
		r := int(x.At(i, 0))
		for j := range x.Cols {
			if x.At(i, j) != float64(r)+float64(j)/16 {
				t.Fatalf("sample row %d is not a whole row of the input: %v", i, x.Row(i))
			}
		}
		out[i] = r
	}
	return out
}

func TestReservoirAllRowsInOrder(t *testing.T) {
	x := numbered(1000, 3)
	for _, n := range []int{1000, 1001, 1 << 20} {
		for _, chunk := range []int{1, 7, 1000, 4096} {
			got, err := Reservoir(context.Background(), &matrixSource{x: x, chunk: chunk}, n, 9)
			if err != nil {
				t.Fatal(err)
			}
			if got.Rows != x.Rows || got.Cols != x.Cols || !slices.Equal(got.Data, x.Data) {
				t.Errorf("n=%d chunk=%d: a sample of every row is not the input in order (%d x %d)", n, chunk, got.Rows, got.Cols)
			}
		}
	}
}

func TestReservoirDeterministic(t *testing.T) {
	x := numbered(50_000, 2)
	sample := func(chunk int, seed uint64) []int {
		got, err := Reservoir(context.Background(), &matrixSource{x: x, chunk: chunk}, 500, seed)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows != 500 {
			t.Fatalf("%d rows, want 500", got.Rows)
		}
		return rowsOf(t, got)
	}
	a := sample(8192, 3)
	if !slices.IsSorted(a) || len(slices.Compact(slices.Clone(a))) != len(a) {
		t.Fatalf("the sample is not distinct rows in stream order: %v", a[:20])
	}
	for _, chunk := range []int{1, 333, 50_000} {
		if b := sample(chunk, 3); !slices.Equal(a, b) {
			t.Errorf("chunks of %d rows gave another sample for the same seed", chunk)
		}
	}
	if b := sample(8192, 3); !slices.Equal(a, b) {
		t.Error("the same seed gave another sample")
	}
	if b := sample(8192, 4); slices.Equal(a, b) {
		t.Error("seeds 3 and 4 gave the same sample")
	}
	if a[len(a)-1] < 40_000 {
		t.Errorf("no row from the last fifth of the stream was kept (last %d)", a[len(a)-1])
	}
}

// TestReservoirUniform checks that every row is kept with probability n/N: a chi-square test
// of the inclusion counts over seeded trials. The seeds are fixed, so the outcome is too (it
// cannot flake); the bounds are the 1e-6 upper tail of the chi-square distribution, so a
// correct sampler passes with any seeds. Biased ones fail: skipping one row too many between
// takes (chi-square 3149), never replacing the last slot (32792).
func TestReservoirUniform(t *testing.T) {
	t.Run("every row", func(t *testing.T) {
		const N, n, trials = 200, 20, 4000
		x := numbered(N, 1)
		counts := make([]float64, N)
		for seed := range uint64(trials) {
			got, err := Reservoir(context.Background(), &matrixSource{x: x, chunk: 37}, n, seed)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rowsOf(t, got) {
				counts[r]++
			}
		}
		t.Logf("chi-square %.1f (199 degrees of freedom)", chiSquare(counts, trials*n/N))
		// 199 degrees of freedom: mean 199, P(chi2 > 310) < 1e-6.
		if c := chiSquare(counts, trials*n/N); c > 310 {
			t.Errorf("chi-square %.1f over 199 degrees of freedom: inclusion is not uniform", c)
		}
		// The first n rows (kept outright, then replaced) against the rest.
		first := 0.0
		for _, c := range counts[:n] {
			first += c
		}
		if got, want := first/float64(trials*n), float64(n)/N; math.Abs(got-want) > 0.01 {
			t.Errorf("the first %d rows make %.3f of the samples, want %.3f", n, got, want)
		}
	})
	t.Run("long stream", func(t *testing.T) {
		// Long skips between kept rows: counts by tenths of a stream of 100,000 rows.
		const N, n, trials = 100_000, 50, 1000
		x := numbered(N, 1)
		tenths := make([]float64, 10)
		for seed := range uint64(trials) {
			got, err := Reservoir(context.Background(), &matrixSource{x: x, chunk: 8192}, n, seed+1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rowsOf(t, got) {
				tenths[r*10/N]++
			}
		}
		t.Logf("chi-square %.1f (9 degrees of freedom): %v", chiSquare(tenths, trials*n/10), tenths)
		// 9 degrees of freedom: P(chi2 > 46) < 1e-6.
		if c := chiSquare(tenths, trials*n/10); c > 46 {
			t.Errorf("chi-square %.1f over 9 degrees of freedom: tenths of the stream kept %v", c, tenths)
		}
	})
}

func chiSquare(counts []float64, expected float64) float64 {
	c := 0.0
	for _, o := range counts {
		c += (o - expected) * (o - expected) / expected
	}
	return c
}

func TestReservoirErrors(t *testing.T) {
	ctx := context.Background()
	x := numbered(10, 2)
	for _, n := range []int{0, -1, MaxSampleRows + 1} {
		if _, err := Reservoir(ctx, &matrixSource{x: x, chunk: 4}, n, 1); err == nil || !strings.Contains(err.Error(), "must be between 1 and") {
			t.Errorf("n=%d: err %v", n, err)
		}
	}
	// An error of the source, past the first chunks, is returned with its row and no sample.
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := range 20_000 {
		if i == 15_000 {
			b.WriteString("1\n")
			continue
		}
		b.WriteString("1,2\n")
	}
	cr, err := NewCSVReader(strings.NewReader(b.String()), Options{Name: "r.csv", ChunkRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Reservoir(ctx, cr, 100, 1)
	var pe *ParseError
	if got != nil || !errors.As(err, &pe) || pe.Row != 15_001 || !errors.Is(err, ErrRagged) {
		t.Errorf("ragged row 15001: sample %v, err %v", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Reservoir(cctx, &matrixSource{x: x, chunk: 4}, 5, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
	s, _ := NewSampler(4, 1)
	if err := s.Add(numbered(3, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(numbered(3, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("a chunk of another width: err %v", err)
	}
	if s.Seen() != 3 {
		t.Errorf("Seen %d after a refused chunk, want 3", s.Seen())
	}
}

// BenchmarkReservoir samples 10,000 of a million rows of 8 columns, in chunks as a file
// reader gives them: the cost the sampling pass adds to reading.
func BenchmarkReservoir(b *testing.B) {
	x := numbered(1_000_000, 8)
	b.SetBytes(int64(len(x.Data) * 8))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Reservoir(context.Background(), &matrixSource{x: x, chunk: DefaultChunkRows}, 10_000, 1); err != nil {
			b.Fatal(err)
		}
	}
}
