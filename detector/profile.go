package detector

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/parallel"
	"github.com/gonomaly/gonomaly/stat"
)

// Profile summarises the data a model was fitted on, so that the data it serves can be
// compared with it (monitor.ModelHealth): how many training rows scored above the threshold,
// and histograms of the training scores and of each column. Model.Fit computes it and the
// model file keeps it (encoding.go); a model read from a file written before profiles existed
// has none.
//
// The histograms count values by stat.Histogram's rule, a value equal to an edge going to the
// bin on its left; live rows must be counted by the same rule (stat.Histogram.Bin), and tied
// training values (a constant or discrete column) give equal edges and empty bins between them.
type Profile struct {
	// Rows is the number of training rows, and Flagged how many of them scored above the
	// threshold: the share the model flags on data like its training data. It is about
	// Contamination, less when tied scores sit at the threshold.
	Rows, Flagged int
	// Scores is the histogram of every training row's score over ProfileScoreBins
	// equal-frequency bins; its counts add up to Rows.
	Scores stat.Histogram
	// Sample is the number of training rows the feature histograms count: an evenly strided
	// sample (rows 0, r/s, 2r/s, ...) of ProfileSampleRows(Rows) rows, so that profiling
	// wide or long data stays cheap.
	Sample int
	// Features holds one histogram per column over ProfileFeatureBins equal-frequency bins of
	// the sample, each adding up to Sample; nil when the model has more than MaxProfileColumns
	// columns.
	Features []stat.Histogram
}

// The shape of the profiles Model.Fit computes.
//
// Feature bins: 20. The monitor computes PSI over the training deciles (pairs of bins), the
// binning the usual 0.1 and 0.25 bands were set for, and the KS test over all 20 edges, which
// sees a change in spread that falls between deciles; more bins would double the size of the
// header (about 0.5 kB a column) for a statistic that is already within a few hundredths of
// the exact one on smooth data. Score bins: 100, over every training row: the scores are one
// column, and the anomalies live in the top bins.
//
// Sample rows: 2 % of the training rows, at least 512 and at most 20000 (all of them below
// 512). Sorting the sample of every column is the profile's cost (BenchmarkFitShapes and
// BenchmarkProfile, 2 cores): 0.33 ms on 100000 x 10, 1.5 % of an hbos fit and 0.5 % of an
// isolation_forest one; 0.6 ms on 10000 x 100, where the floor of 512 rows makes it 4 to 5 %
// of either. The floor is what the drift tests need from a window of 500 live rows: with 100
// features, a mean shift of 0.5 standard deviations is found 98 % of the time and a spread
// 1.5 times wider 88 % (against 81 % and 49 % from 256 rows).
//
// Columns: at most 1000 get a histogram, so the model header stays within its 1 MiB cap
// whatever the values (at most 25 bytes an edge in JSON: 640 bytes a column).
const (
	ProfileScoreBins   = 100
	ProfileFeatureBins = 20
	MaxProfileColumns  = 1000
	profileMinSample   = 512
	profileMaxSample   = 20000
	profileSampleShare = 50 // one row in 50
	// maxProfileBins bounds the bins of a histogram read from a model file.
	maxProfileBins = 1000
)

// ProfileSampleRows returns the number of rows out of rows whose columns Model.Fit profiles: 2
// % of them, at least 512 (or all, if fewer) and at most 20000.
func ProfileSampleRows(rows int) int {
	return min(rows, max(profileMinSample, min(rows/profileSampleShare, profileMaxSample)))
}

// newProfile profiles a fit: sorted holds the training scores in ascending order, X the
// training rows, threshold the model's. The columns are profiled in parallel, each from its
// sample sorted once.
func newProfile(ctx context.Context, X *dataset.Matrix, sorted []float64, threshold float64) (*Profile, error) {
	p := &Profile{Rows: len(sorted), Scores: stat.SortedHistogram(sorted, ProfileScoreBins)}
	// The training rows above the threshold (Model.IsAnomaly).
	p.Flagged = len(sorted) - sort.Search(len(sorted), func(i int) bool { return sorted[i] > threshold })
	if X.Cols > MaxProfileColumns {
		return p, nil
	}
	s := ProfileSampleRows(X.Rows)
	p.Sample = s
	offs := make([]int, s) // the sampled rows' offsets in X.Data
	for k := range offs {
		offs[k] = (k * X.Rows / s) * X.Cols
	}
	p.Features = make([]stat.Histogram, X.Cols)
	// Columns go in blocks of up to 8 (a cache line of a row), so a block's reads of the
	// sampled rows share their lines, but in enough blocks to keep every worker busy.
	workers := parallel.Workers(0, X.Cols)
	grain := min(max(X.Cols/(4*workers), 1), 8)
	values, keys := make([]float64, workers*s), make([]uint64, 2*workers*s)
	err := parallel.For(ctx, X.Cols, grain, workers, func(w, lo, hi int) {
		buf := values[w*s : (w+1)*s]
		keys, tmp := keys[2*w*s:(2*w+1)*s], keys[(2*w+1)*s:(2*w+2)*s]
		for j := lo; j < hi; j++ {
			for k, o := range offs {
				buf[k] = X.Data[o+j]
			}
			radixSort(buf, keys, tmp)
			p.Features[j] = stat.SortedHistogram(buf, ProfileFeatureBins)
		}
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// radixSort sorts xs, which holds no NaN, in ascending order (a -0 becomes +0), using keys and
// buf (each of len(xs)) as scratch. The profile sorts a sample of every column, and
// slices.Sort's comparisons of unpredictable values cost about 60 ns a value here (512
// values); this costs about 18 (BenchmarkProfile). It is an LSD radix sort, one byte at a
// time, of the top 24 bits of keys that order as the values do (sign, exponent and the first
// 12 bits of the mantissa), skipping a byte all keys share; keys that agree on those bits,
// rare for continuous data, are then sorted within their run.
func radixSort(xs []float64, keys, buf []uint64) {
	const passes, low = 3, 40 // the bytes sorted on, and the bits below them
	var hist [passes][256]int
	for i, x := range xs {
		if x == 0 {
			x = 0 // -0 becomes +0, so equal values get equal keys
		}
		k := math.Float64bits(x)
		if k>>63 != 0 {
			k = ^k
		} else {
			k |= 1 << 63
		}
		keys[i] = k
		hist[0][(k>>low)&255]++
		hist[1][(k>>(low+8))&255]++
		hist[2][k>>(low+16)]++
	}
	n := len(xs)
	if n == 0 {
		return
	}
	for p := range passes {
		shift := uint(low + 8*p)
		h := &hist[p]
		if h[(keys[0]>>shift)&255] == n {
			continue
		}
		sum := 0
		for b := range h {
			h[b], sum = sum, sum+h[b]
		}
		for _, k := range keys {
			b := (k >> shift) & 255
			buf[h[b]] = k
			h[b]++
		}
		keys, buf = buf, keys
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && keys[j]>>low == keys[i]>>low {
			j++
		}
		if j-i > 1 {
			slices.Sort(keys[i:j])
		}
		i = j
	}
	for i, k := range keys {
		if k>>63 != 0 {
			xs[i] = math.Float64frombits(k &^ (1 << 63))
		} else {
			xs[i] = math.Float64frombits(^k)
		}
	}
}

// Validate reports whether p could be the profile of a model of cols columns: Rows at least
// 1 and Flagged within it; the score histogram's counts adding up to Rows; no feature
// histogram, or one for each column, each adding up to Sample (1 to Rows); every histogram
// with at most 1000 bins, finite edges in ascending order, and as many finite, whole,
// non-negative counts as bins. UnmarshalModel checks a decoded profile with it; a monitor
// given a profile built by hand can too.
func (p *Profile) Validate(cols int) error {
	if p.Rows < 1 || p.Flagged < 0 || p.Flagged > p.Rows {
		return fmt.Errorf("profile: %d rows, %d flagged", p.Rows, p.Flagged)
	}
	if err := checkHistogram(p.Scores, p.Rows); err != nil {
		return fmt.Errorf("profile: scores: %w", err)
	}
	if len(p.Features) == 0 {
		return nil
	}
	if len(p.Features) != cols {
		return fmt.Errorf("profile: %d feature histograms for %d columns", len(p.Features), cols)
	}
	if p.Sample < 1 || p.Sample > p.Rows {
		return fmt.Errorf("profile: a sample of %d of %d rows", p.Sample, p.Rows)
	}
	for j, h := range p.Features {
		if err := checkHistogram(h, p.Sample); err != nil {
			return fmt.Errorf("profile: column %d: %w", j, err)
		}
	}
	return nil
}

// checkHistogram checks the shape of h and that its counts add up to total.
func checkHistogram(h stat.Histogram, total int) error {
	if len(h.Counts) < 1 || len(h.Counts) > maxProfileBins || len(h.Edges) != len(h.Counts)-1 {
		return fmt.Errorf("%d edges and %d counts: want n-1 edges and n counts, n in [1, %d]", len(h.Edges), len(h.Counts), maxProfileBins)
	}
	for i, e := range h.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) || i > 0 && e < h.Edges[i-1] {
			return fmt.Errorf("edge %d is %v: edges must be finite and ascending", i, e)
		}
	}
	var sum float64
	for i, c := range h.Counts {
		if !(c >= 0 && c <= float64(total)) || c != math.Trunc(c) {
			return fmt.Errorf("count %d is %v: counts must be whole numbers in [0, %d]", i, c, total)
		}
		sum += c
	}
	if sum != float64(total) {
		return fmt.Errorf("counts add up to %v, want %d", sum, total)
	}
	return nil
}

// profileNs is newProfile's time per sampled value of a column, in CPU (radixSort and the
// gather; BenchmarkProfile: 0.6 ms for 100 columns of 512 on 2 cores).
const profileNs = 20

// profileCost is what newProfile takes on rows x cols, for Model.Estimate: the sample's
// offsets, each worker's scratch (a column's values and two key buffers), the histograms,
// and the sorting, spread over the cores.
func profileCost(rows, cols int) fit.Cost {
	rows, cols = max(rows, 0), max(cols, 0)
	hist := float64(8 * (2*ProfileScoreBins - 1))
	if cols > MaxProfileColumns || rows == 0 {
		return fit.Make(hist, 0)
	}
	s := float64(ProfileSampleRows(rows))
	workers := float64(parallel.Workers(0, cols))
	bytes := 8*s + 24*workers*s + float64(cols)*(8*(2*ProfileFeatureBins-1)+48) + hist
	return fit.Make(bytes, profileNs*s*float64(cols)/workers)
}
