package hbos

import (
	"testing"

	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

// benchSets is the synthetic 400000x12 set (the one timed against the numpy reference) and,
// when GONOMALY_REFERENCE_DIR is set, the larger reference datasets.
func benchSets(b *testing.B) []detectortest.BenchSet {
	return reftest.BenchSets(b, 400000, 12, "shuttle", "mammography", "optdigits", "musk")
}

var newBench = detectortest.Constructor(New, Config{Tol: DefaultTol})

func BenchmarkFit(b *testing.B) { detectortest.BenchFit(b, benchSets(b), newBench) }

func BenchmarkScore(b *testing.B) { detectortest.BenchScore(b, benchSets(b), newBench) }

// BenchmarkFitScore is what the numpy reference does in one call: fit, then score the
// training rows.
func BenchmarkFitScore(b *testing.B) { detectortest.BenchFitScore(b, benchSets(b), newBench) }
