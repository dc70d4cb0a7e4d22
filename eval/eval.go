// Package eval measures how well anomaly scores separate labelled anomalies from normal rows:
// ROC-AUC, average precision and precision@n, computed as scikit-learn computes them.
package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gonomaly/gonomaly/stat"
)

// ErrOneClass is returned when the labels hold only one class, so a ranking metric is undefined.
var ErrOneClass = errors.New("eval: labels hold only one class")

func check(labels []int, scores []float64) (pos int, err error) {
	if len(labels) != len(scores) {
		return 0, fmt.Errorf("eval: %d labels but %d scores", len(labels), len(scores))
	}
	for _, l := range labels {
		if l != 0 {
			pos++
		}
	}
	if pos == 0 || pos == len(labels) {
		return pos, ErrOneClass
	}
	return pos, nil
}

// ranked is one row in the order of descending score: its score and its index.
type ranked struct {
	s float64
	i int
}

// order returns the rows by descending score, ties in index order (what a stable sort of the
// indices gives). Sorting (score, index) pairs reads contiguous memory with no indirect loads,
// and the index breaking ties makes a stable sort unnecessary.
func order(scores []float64) []ranked {
	rs := make([]ranked, len(scores))
	for i, s := range scores {
		rs[i] = ranked{s, i}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return cmp.Compare(a.i, b.i)
	})
	return rs
}

// ROCAUC returns the area under the ROC curve of scores against 0/1 labels (1 = anomaly).
// Tied scores count half, as in scikit-learn's roc_auc_score (trapezoidal rule over distinct
// thresholds, which equals the Mann-Whitney statistic with average ranks).
func ROCAUC(labels []int, scores []float64) (float64, error) {
	pos, err := check(labels, scores)
	if err != nil {
		return math.NaN(), err
	}
	return rocAUC(labels, order(scores), pos), nil
}

// rocAUC is ROCAUC over the rows by descending score, with pos anomalies.
func rocAUC(labels []int, idx []ranked, pos int) float64 {
	neg := len(labels) - pos
	// Walk groups of equal scores from the top; each group adds the trapezoid between the
	// ROC points before and after it.
	var tp, fp, area float64
	for i := 0; i < len(idx); {
		j := i
		var gtp, gfp float64
		for ; j < len(idx) && idx[j].s == idx[i].s; j++ {
			if labels[idx[j].i] != 0 {
				gtp++
			} else {
				gfp++
			}
		}
		area += gfp * (tp + gtp/2)
		tp += gtp
		fp += gfp
		i = j
	}
	return area / (float64(pos) * float64(neg))
}

// AveragePrecision returns scikit-learn's average_precision_score: the sum over distinct
// score thresholds, from the top, of (recall gain) x (precision at that threshold).
func AveragePrecision(labels []int, scores []float64) (float64, error) {
	pos, err := check(labels, scores)
	if err != nil {
		return math.NaN(), err
	}
	return averagePrecision(labels, order(scores), pos), nil
}

// averagePrecision is AveragePrecision over the rows by descending score, with pos anomalies.
func averagePrecision(labels []int, idx []ranked, pos int) float64 {
	var tp, seen, ap float64
	for i := 0; i < len(idx); {
		j := i
		var gtp float64
		for ; j < len(idx) && idx[j].s == idx[i].s; j++ {
			if labels[idx[j].i] != 0 {
				gtp++
			}
		}
		seen += float64(j - i)
		tp += gtp
		if gtp > 0 {
			ap += gtp / float64(pos) * (tp / seen)
		}
		i = j
	}
	return ap
}

// PrecisionAtN returns the share of anomalies among the n highest-scored rows, where n is the
// number of anomalies in labels (ties broken by row order, as a stable sort does).
func PrecisionAtN(labels []int, scores []float64) (float64, error) {
	pos, err := check(labels, scores)
	if err != nil {
		return math.NaN(), err
	}
	return precisionAtN(labels, order(scores), pos), nil
}

// precisionAtN is PrecisionAtN over the rows by descending score, with pos anomalies.
func precisionAtN(labels []int, idx []ranked, pos int) float64 {
	hit := 0
	for _, r := range idx[:pos] {
		if labels[r.i] != 0 {
			hit++
		}
	}
	return float64(hit) / float64(pos)
}

// Spearman returns the Spearman rank correlation of a and b, with average ranks for ties. It is
// stat.Spearman, kept for the tests that compare detectors' scores with reference scores; new
// code calls stat directly.
func Spearman(a, b []float64) float64 { return stat.Spearman(a, b) }

// Ranks returns 1-based ranks of xs, ties sharing their average rank: stat.Ranks into a new
// slice.
func Ranks(xs []float64) []float64 { return stat.Ranks(nil, xs) }

// Metrics are the three accuracy figures gonomaly reports for labelled data.
type Metrics struct {
	ROCAUC           float64 `json:"roc_auc"`
	AveragePrecision float64 `json:"average_precision"`
	PrecisionAtN     float64 `json:"precision_at_n"`
}

// Evaluate computes ROC-AUC, average precision and precision@n of scores against labels,
// ordering the rows once for the three.
func Evaluate(labels []int, scores []float64) (Metrics, error) {
	pos, err := check(labels, scores)
	if err != nil {
		nan := math.NaN()
		return Metrics{nan, nan, nan}, err
	}
	idx := order(scores)
	return Metrics{
		ROCAUC:           rocAUC(labels, idx, pos),
		AveragePrecision: averagePrecision(labels, idx, pos),
		PrecisionAtN:     precisionAtN(labels, idx, pos),
	}, nil
}
