package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/detector"
)

const thyroid = "../../testdata/datasets/adbench/thyroid.csv" // 3772 rows x 6 features + label

// A fit the detector estimates to need more than --max-memory or --max-fit-time is refused
// with a warning and advice (exit 1); --force prints the warning and fits anyway.
func TestFitBudget(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m.gnm")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"detect memory", []string{"detect", "-a", "knn", "-i", thyroid, "--label", "label", "--max-memory", "1KiB"}, "of memory, over the budget of 1 KiB"},
		{"train memory", []string{"train", "-a", "local_outlier_factor", "-i", thyroid, "--label", "label", "-m", model, "--max-memory", "1KiB"}, "of memory, over the budget of 1 KiB"},
		{"detect time", []string{"detect", "-a", "one_class_svm", "-i", thyroid, "--label", "label", "--max-fit-time", "1ns"}, "over the budget of 1ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := gonomaly(t, append(tc.args, "--json")...)
			if code != 1 || !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "pass --force to fit anyway") {
				t.Errorf("exit %d, stderr %q; want 1 with a warning saying %q and advice", code, stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q from a refused fit", stdout)
			}
			code, stdout, stderr = gonomaly(t, append(tc.args, "--json", "--force")...)
			if code != 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "fitting anyway (--force)") || !strings.Contains(stdout, `"rows":3772`) {
				t.Errorf("--force: exit %d, stdout %q, stderr %q; want the warning and the fit", code, stdout, stderr)
			}
		})
	}
	// The default budget (half the memory) lets a small fit through without a word.
	if code, _, stderr := gonomaly(t, "detect", "-a", "knn", "-i", thyroid, "--label", "label"); code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("default budget: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"detect", "-a", "knn", "-i", thyroid, "--max-memory", "-1KiB"}, "must not be negative"},
		{[]string{"detect", "-a", "knn", "-i", thyroid, "--max-memory", "lots"}, "512MiB"},
		{[]string{"train", "-a", "knn", "-i", thyroid, "-m", model, "--max-fit-time", "-1s"}, "--max-fit-time -1s: must not be negative"},
		{[]string{"detect", "--model", model, "-i", thyroid, "--force"}, "--force bounds a fit"},
		{[]string{"detect", "--model", model, "-i", thyroid, "--max-memory", "1GiB"}, "--max-memory bounds a fit"},
	} {
		if code, _, stderr := gonomaly(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", tc.args, code, stderr, tc.msg)
		}
	}
}

// Finite values near the largest float64 overflow the arithmetic of the distance and kernel
// detectors. That is an error saying to scale the data (exit 1), never NaN scores with exit
// 0, nor a --json that fails half way.
func TestHugeFiniteValues(t *testing.T) {
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

// A panic recovered in a detector is shown as one line saying it is a bug, then its stack.
func TestErrorTextOfAPanic(t *testing.T) {
	err := fmt.Errorf("detector: knn: fit: %w: %w", detector.ErrInternal, errors.New("panic: runtime error: index out of range [5] with length 5\n\ngoroutine 9 [running]:\nknn.fit()"))
	got := errorText(err)
	first, rest, _ := strings.Cut(got, "\n")
	if first != "detector: knn: fit: internal error in the detector: panic: runtime error: index out of range [5] with length 5"+bugNote || !strings.Contains(rest, "goroutine 9 [running]") {
		t.Errorf("errorText = %q", got)
	}
	if plain := errors.New("row 2: not a number"); errorText(plain) != plain.Error() {
		t.Errorf("a plain error became %q", errorText(plain))
	}
}
