// Package detectortest is the conformance suite every detector runs: the behaviour that callers
// of detector.Detector rely on, checked the same way for each algorithm (as testing/slogtest does
// for slog handlers). Beside Run it holds what a detector's own tests and benchmarks need again
// and again: MustNew, Constructor, Fit, Score and Matrix fail the test instead of returning an
// error, WorkersBitIdentical checks that the number of workers changes no score, and BenchFit,
// BenchScore and BenchFitScore time a detector on named data sets.
package detectortest

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// Detector is the behaviour under test (the same method set as detector.Detector, plus model
// encoding).
type Detector interface {
	Fit(ctx context.Context, X *dataset.Matrix) error
	Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error)
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// Run checks the detector made by newDetector. newDetector must return a fresh, unfitted
// detector with a fixed configuration (and seed) each time.
func Run(t *testing.T, newDetector func() Detector) {
	t.Helper()
	ctx := context.Background()
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 300, Cols: 4, Contamination: 0.05, Seed: 7})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 50, Cols: 4, Contamination: 0.2, Seed: 8})

	fit := func(t *testing.T, X *dataset.Matrix) Detector {
		t.Helper()
		d := newDetector()
		if err := d.Fit(ctx, X); err != nil {
			t.Fatalf("Fit: %v", err)
		}
		return d
	}
	score := func(t *testing.T, d Detector, X *dataset.Matrix) []float64 {
		t.Helper()
		s, err := d.Score(ctx, X, nil)
		if err != nil {
			t.Fatalf("Score: %v", err)
		}
		if len(s) != X.Rows {
			t.Fatalf("Score returned %d scores for %d rows", len(s), X.Rows)
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("score %d is %v", i, v)
			}
		}
		return s
	}

	t.Run("ScoreBeforeFit", func(t *testing.T) {
		if _, err := newDetector().Score(ctx, Q, nil); err == nil {
			t.Fatal("Score before Fit returned no error")
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		a := score(t, fit(t, X), Q)
		b := score(t, fit(t, X), Q)
		equal(t, a, b)
	})
	t.Run("BatchIndependent", func(t *testing.T) {
		d := fit(t, X)
		all := score(t, d, Q)
		for i := 0; i < Q.Rows; i += 7 {
			one := score(t, d, Q.Slice(i, i+1))
			if one[0] != all[i] {
				t.Fatalf("row %d scored alone: %v, in a batch: %v", i, one[0], all[i])
			}
		}
	})
	t.Run("Dst", func(t *testing.T) {
		// The contract: Score writes into dst when len(dst) == X.Rows; otherwise it allocates a
		// new slice and leaves dst alone, capacity included.
		d := fit(t, X)
		want := score(t, d, Q)
		dst := make([]float64, Q.Rows)
		got, err := d.Score(ctx, Q, dst)
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &dst[0] {
			t.Fatal("Score did not write into a dst of the right length")
		}
		equal(t, got, want)
		const untouched = -1234.5
		for _, n := range []int{0, Q.Rows - 1, Q.Rows + 1} {
			buf := make([]float64, Q.Rows+2) // room past len(dst) a careless reslice would use
			for i := range buf {
				buf[i] = untouched
			}
			got, err := d.Score(ctx, Q, buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != Q.Rows {
				t.Fatalf("dst of length %d: %d scores for %d rows", n, len(got), Q.Rows)
			}
			equal(t, got, want)
			for i, v := range buf {
				if v != untouched {
					t.Fatalf("Score wrote element %d of a dst of length %d (capacity %d) for %d rows", i, n, len(buf), Q.Rows)
				}
			}
		}
	})
	t.Run("OutliersScoreHigher", func(t *testing.T) {
		// Row 0 of a far-away point should outscore the median inlier.
		d := fit(t, X)
		far := dataset.NewMatrix(2, X.Cols)
		for j := 0; j < X.Cols; j++ {
			far.Set(0, j, 1e3)
			far.Set(1, j, X.At(0, j))
		}
		s := score(t, d, far)
		if !(s[0] > s[1]) {
			t.Fatalf("far point scored %v, not above an inlier's %v", s[0], s[1])
		}
	})
	t.Run("WrongWidth", func(t *testing.T) {
		d := fit(t, X)
		if _, err := d.Score(ctx, dataset.NewMatrix(3, X.Cols+1), nil); err == nil {
			t.Fatal("scoring data of the wrong width returned no error")
		}
	})
	t.Run("ConcurrentScore", func(t *testing.T) {
		d := fit(t, X)
		want := score(t, d, Q)
		// parallel.Go hands a panic in Score back here as an error, rather than ending the
		// test binary from a goroutine no test can recover.
		errs := make(chan error, 8)
		var waits []func() error
		for g := 0; g < 4; g++ {
			waits = append(waits, parallel.Go(func() {
				s, err := d.Score(ctx, Q, nil)
				if err != nil {
					errs <- err
					return
				}
				for i := range s {
					if s[i] != want[i] {
						errs <- errMismatch
						return
					}
				}
			}))
		}
		for _, wait := range waits {
			if err := wait(); err != nil {
				errs <- err
			}
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
	t.Run("MarshalRoundTrip", func(t *testing.T) {
		d := fit(t, X)
		want := score(t, d, Q)
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		d2 := newDetector()
		if err := d2.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		equal(t, score(t, d2, Q), want)
		for _, n := range []int{0, 1, len(b) / 2, len(b) - 1} {
			if err := newDetector().UnmarshalBinary(b[:n]); err == nil {
				t.Fatalf("UnmarshalBinary of %d of %d bytes returned no error", n, len(b))
			}
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		if err := newDetector().Fit(c, X); !errors.Is(err, context.Canceled) {
			t.Errorf("Fit with a cancelled context: error %v, want one wrapping context.Canceled", err)
		}
		if _, err := fit(t, X).Score(c, Q, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Score with a cancelled context: error %v, want one wrapping context.Canceled", err)
		}
	})
	t.Run("CancelledWhileRunning", func(t *testing.T) {
		if testing.Short() {
			t.Skip("grows the data until a call takes a noticeable time")
		}
		big, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: cancelMaxRows, Cols: X.Cols, Contamination: 0.05, Seed: 9})
		t.Run("Fit", func(t *testing.T) {
			cancelMidway(t, func(ctx context.Context, rows int) error {
				return newDetector().Fit(ctx, big.Slice(0, rows))
			})
		})
		t.Run("Score", func(t *testing.T) {
			d := fit(t, X)
			cancelMidway(t, func(ctx context.Context, rows int) error {
				_, err := d.Score(ctx, big.Slice(0, rows), nil)
				return err
			})
		})
	})
	t.Run("ConstantColumn", func(t *testing.T) {
		C := X.Clone()
		for i := 0; i < C.Rows; i++ {
			C.Set(i, 1, 3.5)
		}
		score(t, fit(t, C), C)
	})
	t.Run("MoreColumnsThanRows", func(t *testing.T) {
		W, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 8, Cols: 20, Contamination: 0.1, Seed: 3})
		d := newDetector()
		if err := d.Fit(ctx, W); err != nil {
			t.Logf("Fit on 8x20: %v", err) // an error is fine; a panic is not
			return
		}
		score(t, d, W)
	})
	t.Run("OneRow", func(t *testing.T) {
		d := newDetector()
		if err := d.Fit(ctx, X.Slice(0, 1)); err != nil {
			t.Logf("Fit on one row: %v", err) // an error is fine; a panic is not
			return
		}
		score(t, d, Q)
	})
}

// Cancellation while running: the data doubles (up to cancelMaxRows rows) until an
// uncancelled call takes cancelTarget; a call on that data cancelled a third of the way in
// must return an error wrapping context.Canceled within a third of the uncancelled time (half
// of what it had left). Timings on a shared machine wander, so a call that finishes anyway, or
// returns late, is tried again on the next data size, up to cancelAttempts times; an error
// that is not the cancellation fails at once.
const (
	cancelMinRows  = 4096
	cancelMaxRows  = 1 << 19
	cancelTarget   = 200 * time.Millisecond
	cancelAttempts = 3
)

// cancelMidway checks that call, on the first rows rows of its data, honours cancellation
// (see cancelTarget). A call that takes less than cancelTarget on all cancelMaxRows rows is
// too quick for cancellation to matter: it is logged and passes.
func cancelMidway(t *testing.T, call func(ctx context.Context, rows int) error) {
	t.Helper()
	rows := cancelMinRows
	var misses []string
	for range cancelAttempts {
		full, ok := growUntilSlow(t, call, &rows)
		if !ok {
			t.Logf("%d rows take %v, less than %v: too quick for cancellation to matter", rows, full, cancelTarget)
			return
		}
		c, cancel := context.WithCancel(context.Background())
		var err error
		wait := parallel.Go(func() { err = call(c, rows) })
		time.Sleep(full / 3)
		cancel()
		cancelled := time.Now()
		if p := wait(); p != nil {
			t.Fatal(p)
		}
		took := time.Since(cancelled)
		msg := fmt.Sprintf("%d rows: %v uncancelled; cancelled after %v, returned %v later", rows, full, full/3, took)
		t.Log(msg)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			t.Fatalf("%s with error %v, want one wrapping context.Canceled", msg, err)
		case err == nil:
			misses = append(misses, msg+" without an error")
		case took > full/3:
			misses = append(misses, fmt.Sprintf("%s, want within %v", msg, full/3))
		default:
			return
		}
		if rows*2 > cancelMaxRows {
			break
		}
		rows *= 2
	}
	t.Errorf("cancellation not honoured in %d tries:\n%s", len(misses), strings.Join(misses, "\n"))
}

// growUntilSlow doubles *rows until an uncancelled call takes cancelTarget (the faster of two
// calls, so that a moment of contention does not pass for the call's own time) and returns
// that time, or false when cancelMaxRows rows are not enough.
func growUntilSlow(t *testing.T, call func(ctx context.Context, rows int) error, rows *int) (time.Duration, bool) {
	t.Helper()
	for {
		full := time.Duration(math.MaxInt64)
		for range 2 {
			start := time.Now()
			if err := call(context.Background(), *rows); err != nil {
				t.Fatalf("%d rows, not cancelled: %v", *rows, err)
			}
			full = min(full, time.Since(start))
			if full < cancelTarget {
				break // no need for a second look
			}
		}
		if full >= cancelTarget {
			return full, true
		}
		if *rows*2 > cancelMaxRows {
			return full, false
		}
		*rows *= 2
	}
}

type mismatch struct{}

func (mismatch) Error() string { return "concurrent Score calls disagree" }

var errMismatch error = mismatch{}

func equal(t *testing.T, got, want []float64) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("score %d: %v, want %v", i, got[i], want[i])
		}
	}
}
