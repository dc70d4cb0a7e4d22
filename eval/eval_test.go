package eval

import (
	"errors"
	"math"
	"testing"
)

func TestMetricsAgainstScikitLearn(t *testing.T) {
	// Expected values from scikit-learn 1.2.1:
	//   roc_auc_score(y, s), average_precision_score(y, s)
	tests := []struct {
		name    string
		y       []int
		s       []float64
		auc, ap float64
		patn    float64
	}{
		{"ties", []int{0, 0, 1, 1, 0, 1, 0, 0, 1, 0}, []float64{0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.35, 0.35, 0.05},
			0.7916666666666666, 0.7857142857142857, 0.5},
		{"all tied", []int{1, 0, 0, 1}, []float64{1, 1, 1, 1}, 0.5, 0.5, 0.5},
		{"perfect", []int{0, 1, 0, 1}, []float64{0, 2, 1, 3}, 1, 1, 1},
		{"inverted", []int{0, 1, 0, 1}, []float64{3, 0, 2, 1}, 0, 0.41666666666666663, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Evaluate(tc.y, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"ROC-AUC", m.ROCAUC, tc.auc}, {"AP", m.AveragePrecision, tc.ap}, {"P@n", m.PrecisionAtN, tc.patn}} {
				if math.Abs(c.got-c.want) > 1e-12 {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestOneClassAndLengthErrors(t *testing.T) {
	if _, err := ROCAUC([]int{1, 1}, []float64{1, 2}); !errors.Is(err, ErrOneClass) {
		t.Fatalf("err = %v, want ErrOneClass", err)
	}
	if _, err := AveragePrecision([]int{0, 1}, []float64{1}); err == nil {
		t.Fatal("length mismatch accepted")
	}
}

func TestSpearman(t *testing.T) {
	a := []float64{1, 2, 3, 4, 5}
	if r := Spearman(a, []float64{10, 20, 30, 40, 50}); math.Abs(r-1) > 1e-12 {
		t.Fatalf("monotone: %v", r)
	}
	if r := Spearman(a, []float64{5, 4, 3, 2, 1}); math.Abs(r+1) > 1e-12 {
		t.Fatalf("reversed: %v", r)
	}
	// scipy.stats.spearmanr([1,2,3,4,5], [1,3,2,2,5]) = 0.6668859288553501
	if r := Spearman(a, []float64{1, 3, 2, 2, 5}); math.Abs(r-0.6668859288553501) > 1e-12 {
		t.Fatalf("ties: %v", r)
	}
}
