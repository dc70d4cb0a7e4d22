package knn

import (
	"testing"

	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

func benchSets(b *testing.B) []detectortest.BenchSet {
	return reftest.BenchSets(b, 20000, 8, "shuttle", "mammography", "musk", "optdigits")
}

var newBench = detectortest.Constructor(New, Config{})

// BenchmarkFit is the whole fit: index build, neighbour search of every training row and the
// training scores.
func BenchmarkFit(b *testing.B) { detectortest.BenchFit(b, benchSets(b), newBench) }

// BenchmarkScore scores the training rows again as new rows.
func BenchmarkScore(b *testing.B) { detectortest.BenchScore(b, benchSets(b), newBench) }
