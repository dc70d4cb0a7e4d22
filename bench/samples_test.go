package bench

import (
	"encoding/json"
	"slices"
	"testing"
)

// A cell keeps its iterations' total seconds, at most n of them, evenly spaced with the first
// and last.
func TestTotalSamples(t *testing.T) {
	ms := func(n int) []Measurement {
		out := make([]Measurement, n)
		for i := range out {
			out[i] = Measurement{FitSeconds: float64(i), ScoreSeconds: 0.5}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		ms   []Measurement
		n    int
		want []float64
	}{
		{"none", nil, 10, nil},
		{"fewer than n", ms(3), 10, []float64{0.5, 1.5, 2.5}},
		{"exactly n", ms(3), 3, []float64{0.5, 1.5, 2.5}},
		{"thinned", ms(10), 4, []float64{0.5, 3.5, 6.5, 9.5}},
		{"one kept", ms(10), 1, []float64{0.5}},
		{"n zero", ms(3), 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := totalSamples(tc.ms, tc.n); !slices.Equal(got, tc.want) {
				t.Errorf("totalSamples = %v, want %v", got, tc.want)
			}
		})
	}
	if got := totalSamples(ms(1000), MaxSamples); len(got) != MaxSamples || got[0] != 0.5 || got[MaxSamples-1] != 999.5 {
		t.Errorf("1000 iterations: %d samples from %v to %v, want %d from 0.5 to 999.5", len(got), got[0], got[len(got)-1], MaxSamples)
	}
}

// Documents written before cells had samples still read, with none; samples round-trip.
func TestCellSamplesCompatible(t *testing.T) {
	old := `{"schema_version":1,"kind":"benchmark","cells":[{"id":"a","algorithm":"hbos","rows":10,"cols":2,"status":"ok",
		"iterations":3,"total_seconds":{"n":3,"median":0.5}}]}`
	var d BenchmarkDoc
	if err := json.Unmarshal([]byte(old), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Cells) != 1 || d.Cells[0].Samples != nil || d.Cells[0].Total.Median != 0.5 {
		t.Fatalf("old document read as %+v", d.Cells)
	}
	d.Cells[0].Samples = []float64{0.4, 0.5, 0.6}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back BenchmarkDoc
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Cells[0].Samples, d.Cells[0].Samples) {
		t.Errorf("samples %v after a round trip, want %v", back.Cells[0].Samples, d.Cells[0].Samples)
	}
}

// makeCell writes the iterations' totals into the cell's samples.
func TestMakeCellSamples(t *testing.T) {
	res := &CellResult{Rows: 10, Cols: 2, Measurements: []Measurement{{FitSeconds: 1, ScoreSeconds: 0.25}, {FitSeconds: 2, ScoreSeconds: 0.25}}}
	c := makeCell(CellSpec{Algorithm: Algorithm{Name: "hbos"}, Rows: 10, Cols: 2}, res, nil, 0)
	if want := []float64{1.25, 2.25}; !slices.Equal(c.Samples, want) {
		t.Errorf("samples %v, want %v", c.Samples, want)
	}
}
