package iforest

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
)

func TestConformance(t *testing.T) {
	detectortest.Run(t, func() detectortest.Detector {
		d, err := New(Config{Trees: 50, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"zero", Config{}, ""},
		{"share", Config{MaxSamples: 0.5, MaxFeatures: 0.3}, ""},
		{"counts", Config{MaxSamples: 1000, MaxFeatures: 3, Bootstrap: true}, ""},
		{"negative trees", Config{Trees: -1}, "Trees"},
		{"negative workers", Config{Workers: -2}, "Workers"},
		{"fractional count", Config{MaxSamples: 2.5}, "whole number"},
		{"negative samples", Config{MaxSamples: -0.1}, "MaxSamples"},
		{"NaN features", Config{MaxFeatures: math.NaN()}, "MaxFeatures"},
		{"Inf samples", Config{MaxSamples: math.Inf(1)}, "MaxSamples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New(%+v): %v", tc.cfg, err)
			case tc.want == "" && d.Config().Trees != max(tc.cfg.Trees, 100):
				t.Fatalf("Trees default not applied: %+v", d.Config())
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New(%+v) = %v, want an error about %s", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		cfg          Config
		n, cols      int
		psi, k, dpth int
		err          bool
	}{
		{Config{}, 1000, 5, 256, 5, 8, false},
		{Config{}, 100, 5, 100, 5, 7, false},
		{Config{}, 2, 5, 2, 5, 1, false},
		{Config{MaxSamples: 0.5}, 1000, 5, 500, 5, 9, false},
		{Config{MaxSamples: 1}, 1000, 5, 1000, 5, 10, false},
		{Config{MaxSamples: 5000}, 1000, 5, 1000, 5, 10, false}, // capped at n
		{Config{MaxSamples: 257}, 1000, 5, 257, 5, 9, false},
		{Config{MaxFeatures: 0.5}, 1000, 5, 256, 2, 8, false},
		{Config{MaxFeatures: 0.1}, 1000, 5, 256, 1, 8, false},
		{Config{MaxFeatures: 4}, 1000, 5, 256, 4, 8, false},
		{Config{MaxFeatures: 6}, 1000, 5, 0, 0, 0, true},
		{Config{MaxSamples: 0.001}, 100, 5, 0, 0, 0, true},
	} {
		psi, k, err := tc.cfg.resolve(tc.n, tc.cols)
		if (err != nil) != tc.err {
			t.Errorf("%+v on %dx%d: error %v", tc.cfg, tc.n, tc.cols, err)
			continue
		}
		if !tc.err && (psi != tc.psi || k != tc.k || treeDepth(psi) != tc.dpth) {
			t.Errorf("%+v on %dx%d: psi %d, k %d, depth %d; want %d, %d, %d",
				tc.cfg, tc.n, tc.cols, psi, k, treeDepth(psi), tc.psi, tc.k, tc.dpth)
		}
	}
}

func TestAveragePathLength(t *testing.T) {
	// Values of sklearn.ensemble._iforest._average_path_length (scikit-learn 1.2.1).
	for _, tc := range []struct {
		n    int
		want float64
	}{
		{0, 0}, {1, 0}, {2, 1}, {3, 1.207392357589623}, {256, 10.244770920119917}, {100000, 22.180282259643523},
	} {
		if got := AveragePathLength(tc.n); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("c(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func uniform(rows, cols int, seed uint64) *dataset.Matrix {
	r := rand.New(rand.NewPCG(seed, 1))
	X := dataset.NewMatrix(rows, cols)
	for i := range X.Data {
		X.Data[i] = r.Float64()
	}
	return X
}

// On uniform data a row's expected path length is about c(psi) (that is what c normalises
// for), and every score of a training row lies in (0, 1].
func TestPathLengthUniform(t *testing.T) {
	ctx := context.Background()
	X := uniform(20000, 4, 1)
	d := detectortest.Fit(t, detectortest.MustNew(t, New, Config{Seed: 9}), X)
	s := detectortest.Score(t, d, X)
	var mean float64
	for i, v := range s {
		if !(v > 0 && v <= 1) {
			t.Fatalf("score of training row %d is %v, not in (0, 1]", i, v)
		}
		mean += -math.Log2(v) * AveragePathLength(256) / float64(len(s))
	}
	// One tree alone: average of its leaf values over its own sample.
	one, _ := New(Config{Trees: 1, Seed: 4})
	if err := one.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	s1, _ := one.Score(ctx, X, nil)
	var mean1 float64
	for _, v := range s1 {
		mean1 += -math.Log2(v) * AveragePathLength(256) / float64(len(s1))
	}
	c := AveragePathLength(256)
	t.Logf("mean path length: forest %.3f, one tree %.3f, c(256) = %.3f", mean, mean1, c)
	for _, got := range []float64{mean, mean1} {
		if math.Abs(got-c) > 0.1*c {
			t.Errorf("mean path length %.3f is not within 10%% of c(256) = %.3f", got, c)
		}
	}
}

// The padded complete tree must agree with a direct walk: check leaf values against depth and
// leaf sizes by counting training rows per leaf in a tree grown on distinct rows.
func TestTreeLeafCounts(t *testing.T) {
	X := uniform(300, 3, 2)
	psi := 256
	b := newBuilder(X, psi, 3, treeDepth(psi), 1, false)
	D := treeDepth(psi)
	ni, nl := 1<<D-1, 1<<D
	offs, keys, leaves := make([]uint32, ni), make([]uint32, ni), make([]float64, nl)
	b.grow(newRNG(1, 0), offs, keys, leaves)
	// Push the tree's own sample through it and count rows per leaf.
	counts := make([]int, nl)
	for _, row := range b.rows {
		x := X.Row(int(row))
		i := 0
		for range D {
			if float32(x[offs[i]]) > unkey32(keys[i]) { // block 1: off = feature
				i = 2*i + 2
			} else {
				i = 2*i + 1
			}
		}
		counts[i-ni]++
	}
	// Each reachable leaf's value is depth + c(count); recover depth from it.
	total := 0
	for l, c := range counts {
		if c == 0 {
			continue
		}
		total += c
		depth := leaves[l] - AveragePathLength(c)
		if depth < 0 || depth > float64(D)+1e-9 || math.Abs(depth-math.Round(depth)) > 1e-9 {
			t.Fatalf("leaf %d: value %v with %d rows gives depth %v", l, leaves[l], c, depth)
		}
		if c > 1 && math.Round(depth) != float64(D) {
			t.Fatalf("leaf %d holds %d distinct rows above the maximum depth (depth %v)", l, c, depth)
		}
	}
	if total != psi {
		t.Fatalf("%d rows reached leaves, want %d", total, psi)
	}
}

// Workers must not change a single bit, for fitting or scoring, with or without bootstrap and
// feature subsets.
func TestDeterministicAcrossWorkers(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 3000, Cols: 6, Contamination: 0.05, Seed: 11})
	for _, cfg := range []Config{
		{Seed: 1},
		{Seed: 2, Bootstrap: true, MaxFeatures: 0.5, MaxSamples: 0.3, Trees: 37},
	} {
		var got [][]float64
		for _, w := range []int{1, 3} {
			c := cfg
			c.Workers = w
			d := detectortest.Fit(t, detectortest.MustNew(t, New, c), X)
			s := detectortest.Score(t, d, X)
			got = append(got, s)
		}
		for i := range got[0] {
			if math.Float64bits(got[0][i]) != math.Float64bits(got[1][i]) {
				t.Fatalf("%+v: row %d: Workers=1 gives %v, Workers=3 gives %v", cfg, i, got[0][i], got[1][i])
			}
		}
	}
}

func TestSeedsDiffer(t *testing.T) {
	ctx := context.Background()
	X := uniform(500, 3, 5)
	var s [2][]float64
	for i := range s {
		d, _ := New(Config{Seed: uint64(i)})
		if err := d.Fit(ctx, X); err != nil {
			t.Fatal(err)
		}
		s[i], _ = d.Score(ctx, X, nil)
	}
	for i := range s[0] {
		if s[0][i] != s[1][i] {
			return
		}
	}
	t.Fatal("seeds 0 and 1 gave identical scores")
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	X := uniform(100, 3, 6)
	d, _ := New(Config{})
	if _, err := d.MarshalBinary(); err == nil {
		t.Error("MarshalBinary before Fit: no error")
	}
	bad := X.Clone()
	bad.Set(7, 2, math.NaN())
	if err := d.Fit(ctx, bad); err == nil || !strings.Contains(err.Error(), "row 7, column 2") {
		t.Errorf("Fit with NaN: %v", err)
	}
	if err := d.Fit(ctx, nil); err == nil {
		t.Error("Fit(nil): no error")
	}
	if err := d.Fit(ctx, dataset.NewMatrix(0, 3)); err == nil {
		t.Error("Fit on no rows: no error")
	}
	if err := d.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	bad.Set(7, 2, math.Inf(-1))
	if _, err := d.Score(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "row 7, column 2") {
		t.Errorf("Score with -Inf: %v", err)
	}
	if s, err := d.Score(ctx, dataset.NewMatrix(0, 3), nil); err != nil || len(s) != 0 {
		t.Errorf("Score of no rows: %v, %v", s, err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Score(c, X, nil); err == nil {
		t.Error("Score with a cancelled context: no error")
	}
	if err := d.Fit(c, X); err == nil {
		t.Error("Fit with a cancelled context: no error")
	}
}

func TestUnmarshalRejectsCorruption(t *testing.T) {
	ctx := context.Background()
	X := uniform(200, 3, 7)
	d, _ := New(Config{Trees: 5})
	if err := d.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	b, _ := d.MarshalBinary()
	// Flip every header byte and a spread of the others: decoding must error or give a model
	// that scores (or rejects data of the wrong width) without panicking.
	for i := 0; i < len(b); i += max(1, min(i/64, 97)) {
		c := append([]byte(nil), b...)
		c[i] ^= 0xA5
		d2, _ := New(Config{})
		if err := d2.UnmarshalBinary(c); err == nil {
			if _, err := d2.Score(ctx, X, nil); err != nil && !strings.Contains(err.Error(), "columns") {
				t.Fatalf("byte %d corrupted: decoded, then Score failed: %v", i, err)
			}
		}
	}
	c := append([]byte(nil), b...)
	c[0] = 99
	if err := new(Detector).UnmarshalBinary(c); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("unknown version: %v", err)
	}
}

func TestOneRowPerTree(t *testing.T) {
	// scikit-learn defines every score as 1 when trees hold one row (c(1) = 0).
	ctx := context.Background()
	X := uniform(1, 3, 8)
	d, _ := New(Config{})
	if err := d.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	s, err := d.Score(ctx, uniform(5, 3, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range s {
		if v != 1 {
			t.Fatalf("score %v, want 1", v)
		}
	}
}

func TestDefaultModelSize(t *testing.T) {
	X := uniform(10000, 12, 10)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, _ := New(Config{})
	if err := d.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("a fitted default model holds %d bytes of heap", held)
	if held >= 2<<20 {
		t.Errorf("a fitted default model holds %d bytes of heap, want under 2 MiB", held)
	}
	runtime.KeepAlive(X)
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default model (100 trees, 256 rows) encodes to %d bytes", len(b))
	if len(b) >= 2<<20 {
		t.Fatalf("default model encodes to %d bytes, want under 2 MiB", len(b))
	}
}

// key32 must order like float32 comparison, which the scoring loop relies on.
func TestKey32Order(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, float32(math.Inf(1)), float32(math.Inf(-1))}
	vals := append([]float32(nil), special...)
	for range 2000 {
		vals = append(vals, float32(r.NormFloat64()*math.Pow(10, float64(r.IntN(20)-10))))
	}
	for _, a := range vals {
		if got := unkey32(key32(a)); got != a {
			t.Fatalf("unkey32(key32(%v)) = %v", a, got)
		}
		for _, b := range special {
			if (a > b) != (key32(a) > key32(b)) || (b > a) != (key32(b) > key32(a)) {
				t.Fatalf("key32 orders %v and %v unlike float32", a, b)
			}
		}
	}
	for i := 1; i < len(vals); i++ {
		a, b := vals[i-1], vals[i]
		if (a > b) != (key32(a) > key32(b)) {
			t.Fatalf("key32 orders %v and %v unlike float32", a, b)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	X := uniform(64, 3, 12)
	d, _ := New(Config{Trees: 3, MaxSamples: 16})
	if err := d.Fit(context.Background(), X); err != nil {
		f.Fatal(err)
	}
	b, _ := d.MarshalBinary()
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _ := New(Config{})
		if err := d.UnmarshalBinary(b); err != nil || d.m.cols > 1000 {
			return
		}
		// A payload that decodes must score data of its width without panicking.
		if _, err := d.Score(context.Background(), uniform(9, d.m.cols, 1), nil); err != nil {
			t.Fatalf("decoded model fails to score: %v", err)
		}
	})
}
