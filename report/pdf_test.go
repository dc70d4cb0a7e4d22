package report_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/report"
)

// pages renders the PDF's pages to PNG at 50 dpi with pdftoppm and decodes them.
func pages(t *testing.T, pdf []byte) []image.Image {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm is missing: run scripts/tools.sh (it installs Debian's poppler-utils)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "50", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	names, err := filepath.Glob(filepath.Join(dir, "page*.png"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var imgs []image.Image
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		imgs = append(imgs, img)
	}
	return imgs
}

// variance is the variance of an image's grey levels (0 for a blank page).
func variance(img image.Image) float64 {
	var n, sum, sq float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := float64(r+g+bl) / 3 / 65535
			n, sum, sq = n+1, sum+v, sq+v*v
		}
	}
	m := sum / n
	return sq/n - m*m
}

// The fixture's report renders to a PDF of several pages, none of them blank, that poppler
// reads.
func TestPDF(t *testing.T) {
	r := dayReport(t)
	var b bytes.Buffer
	if err := report.WritePDF(&b, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", b.Bytes())
	}
	imgs := pages(t, b.Bytes())
	if len(imgs) < 2 {
		t.Fatalf("%d pages, want at least 2", len(imgs))
	}
	for i, img := range imgs {
		if v := variance(img); v < 1e-4 {
			t.Errorf("page %d is blank (grey variance %.2g)", i+1, v)
		}
	}
	t.Logf("%d pages, %d bytes", len(imgs), b.Len())
}

// An empty report, and one with figures no chart can place (and ragged dataset scores, a
// version comparison), still make a readable PDF.
func TestPDFOddFigures(t *testing.T) {
	r := dayReport(t)
	inf, nan := math.Inf(1), math.NaN()
	for i := range r.Series {
		r.Series[i].Max = inf
		if len(r.Series[i].Points) > 0 {
			r.Series[i].Points[0].V = nan
		}
	}
	for i := range r.Scalability {
		r.Scalability[i].Predicted10x = inf
		r.Scalability[i].Pattern = "O(n^3)"
		r.Scalability[i].B = 1e300
	}
	p := 0.003
	r.Datasets = &report.CrossDataset{Metric: "roc_auc", Algorithms: []string{"isolation_forest", "hbos", "lof"},
		Datasets:  []report.DatasetScores{{Dataset: "wbc.csv", Scores: []float64{0.9, 0.8, nan}}, {Dataset: "short.csv", Scores: []float64{0.7}}},
		MeanRanks: []float64{1.5, 2}, Chi2: &p, P: &p}
	r.Versions.Old, r.Versions.New = "v1", "v2"
	r.Versions.Cells = []report.VersionCell{{Algorithm: "lof", Rows: 1000, Cols: 10, OldN: 4, NewN: 4, OldSeconds: 1, NewSeconds: 2, ChangePercent: 100, P: &p, Verdict: report.VerdictRegression, Machines: 3, Warning: bench.MachinesWarning(3)}}
	r.Summary.Reasons = append(r.Summary.Reasons, "control \x1b[2J and non-Latin \u4e2d\u6587 text")
	var b bytes.Buffer
	if err := report.WritePDF(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := len(pages(t, b.Bytes())); n < 2 {
		t.Errorf("%d pages", n)
	}
	empty, err := report.Build(context.Background(), openStore(t), report.Period{Since: day0, Until: day0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := report.WritePDF(&b, empty); err != nil {
		t.Fatal(err)
	}
	if n := len(pages(t, b.Bytes())); n < 1 {
		t.Errorf("empty report: %d pages", n)
	}
}

// A week of one-minute samples renders to PDF in well under 2 s.
func TestWeekPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a week of samples")
	}
	if raceEnabled {
		// Seeding the week takes over a minute under the race detector; scripts/test.sh runs
		// this test without it, where the time bound means something.
		t.Skip("seeds a week of samples: run without -race (scripts/test.sh does)")
	}
	st, p := weekStore(t)
	r, err := report.Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var b bytes.Buffer
	if err := report.WritePDF(&b, r); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("week PDF: %v, %d bytes", took, b.Len())
	if !raceEnabled && took > 2*time.Second {
		t.Errorf("rendering took %v, want under 2 s", took)
	}
}

// The PDF draws the critical-difference diagram of the datasets section (its "CD = " label
// and each algorithm's name with its mean rank, read back by pdftotext) and states the
// recommendation.
func TestPDFCriticalDifference(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: run scripts/tools.sh (it installs Debian's poppler-utils)")
	}
	st := openStore(t)
	for i := range 5 {
		addCompare(t, st, i, day0.Add(time.Duration(1+i)*time.Hour), fmt.Sprintf("ds%d", i),
			map[string]float64{"iforest": 0.9 - 0.01*float64(i), "hbos": 0.8, "lof": 0.6 + 0.01*float64(i)})
	}
	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WritePDF(&b, r); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	text := string(out)
	for _, want := range []string{"CD = 1.48", "iforest 1", "hbos 2", "lof 3", "Recommendation (best_ranked): iforest ranks best"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q", want)
		}
	}
	for i, img := range pages(t, b.Bytes()) {
		if variance(img) < 1e-4 {
			t.Errorf("page %d is blank", i+1)
		}
	}
}
