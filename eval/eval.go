// Package eval measures how well anomaly scores separate labelled anomalies from normal rows:
// ROC-AUC, average precision and precision@n, computed as scikit-learn computes them.
package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"

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

// order returns the row indices sorted by descending score (ties in index order).
func order(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx
}

// ROCAUC returns the area under the ROC curve of scores against 0/1 labels (1 = anomaly).
// Tied scores count half, as in scikit-learn's roc_auc_score (trapezoidal rule over distinct
// thresholds, which equals the Mann-Whitney statistic with average ranks).
func ROCAUC(labels []int, scores []float64) (float64, error) {
	pos, err := check(labels, scores)
	if err != nil {
		return math.NaN(), err
	}
	idx := order(scores)
	neg := len(labels) - pos
	// Walk groups of equal scores from the top; each group adds the trapezoid between the
	// ROC points before and after it.
	var tp, fp, area float64
	for i := 0; i < len(idx); {
		j := i
		var gtp, gfp float64
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			if labels[idx[j]] != 0 {
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
	return area / (float64(pos) * float64(neg)), nil
}

// AveragePrecision returns scikit-learn's average_precision_score: the sum over distinct
// score thresholds, from the top, of (recall gain) x (precision at that threshold).
func AveragePrecision(labels []int, scores []float64) (float64, error) {
	pos, err := check(labels, scores)
	if err != nil {
		return math.NaN(), err
	}
	idx := order(scores)
	var tp, seen, ap float64
	for i := 0; i < len(idx); {
		j := i
		var gtp float64
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			if labels[idx[j]] != 0 {
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
	return ap, nil
}

// PrecisionAtN returns the share of anomalies among the n highest-scored rows, where n is the
// number of anomalies in labels (ties broken by row order, as a stable sort does).
func PrecisionAtN(labels []int, scores []float64) (float64, error) {
	pos, err := check(labels, scores)
	if err != nil {
		return math.NaN(), err
	}
	idx := order(scores)
	hit := 0
	for _, i := range idx[:pos] {
		if labels[i] != 0 {
			hit++
		}
	}
	return float64(hit) / float64(pos), nil
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

// Evaluate computes ROC-AUC, average precision and precision@n of scores against labels.
func Evaluate(labels []int, scores []float64) (Metrics, error) {
	var m Metrics
	var err error
	if m.ROCAUC, err = ROCAUC(labels, scores); err != nil {
		return m, err
	}
	if m.AveragePrecision, err = AveragePrecision(labels, scores); err != nil {
		return m, err
	}
	m.PrecisionAtN, err = PrecisionAtN(labels, scores)
	return m, err
}
