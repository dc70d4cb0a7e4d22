package main

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// Finite values near the largest float64 overflow the arithmetic of the distance and kernel
// detectors. That is an error saying to scale the data (exit 1), never NaN scores with exit
// 0, nor a --json that fails half way.
func TestHugeFiniteValues(t *testing.T) {
	t.Skip("needs the detector change that returns ErrOverflow for non-finite scores (detector.Model.Fit/Score), not committed yet; remove this skip when it lands")
	in := writeFile(t, "big.csv", "a,b\n1e308,1e308\n-1e308,1e308\n1e308,-1e308\n0,0\n1,1\n2,2\n3,3\n")
	for _, algo := range []string{"knn", "one_class_svm"} {
		for _, extra := range [][]string{nil, {"--json"}} {
			args := append([]string{"detect", "-a", algo, "-i", in}, extra...)
			code, stdout, stderr := gonomaly(t, args...)
			if code != 1 || !strings.Contains(stderr, "too large") || !strings.Contains(stderr, "scale the data") || stdout != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 saying the values are too large", args, code, stdout, stderr)
			}
		}
		code, _, stderr := gonomaly(t, "train", "-a", algo, "-i", in, "-m", filepath.Join(t.TempDir(), "m.gnm"), "--json")
		if code != 1 || !strings.Contains(stderr, "too large") {
			t.Errorf("train %s: exit %d, stderr %q", algo, code, stderr)
		}
	}
}

// A value JSON cannot hold is an error, and nothing is written.
func TestWriteJSONRefusesNaN(t *testing.T) {
	var b bytes.Buffer
	err := writeJSON(&b, detectResult{Algorithm: "knn", Threshold: math.NaN()})
	if err == nil || !strings.Contains(err.Error(), "NaN") || b.Len() != 0 {
		t.Errorf("err %v, wrote %q", err, b.String())
	}
	if err := writeJSON(&b, detectResult{Algorithm: "knn", Threshold: 1.5}); err != nil || b.String() != `{"algorithm":"knn","rows":0,"cols":0,"fit_seconds":0,"score_seconds":0,"anomalies":0,"threshold":1.5}`+"\n" {
		t.Errorf("err %v, wrote %q", err, b.String())
	}
}
