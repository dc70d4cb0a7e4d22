package detector

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/stat"
)

// normalMatrix is rows x cols of standard normal values.
func normalMatrix(rows, cols int, seed uint64) *dataset.Matrix {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := dataset.NewMatrix(rows, cols)
	for i := range X.Data {
		X.Data[i] = rng.NormFloat64()
	}
	return X
}

// sampledColumn is column j of the rows newProfile samples: s rows evenly strided.
func sampledColumn(X *dataset.Matrix, j, s int) []float64 {
	col := make([]float64, s)
	for k := range col {
		col[k] = X.At(k*X.Rows/s, j)
	}
	return col
}

func sameHistogram(a, b stat.Histogram) bool {
	return slices.Equal(a.Edges, b.Edges) && slices.Equal(a.Counts, b.Counts)
}

// TestProfile: Fit profiles the training data of every algorithm: the score histogram over all
// training scores, the share above the threshold, and one histogram per column of the strided
// sample, each what stat.NewHistogram gives; a constant and a discrete column included.
func TestProfile(t *testing.T) {
	ctx := context.Background()
	for _, rows := range []int{300, 40000} {
		X := normalMatrix(rows, 4, 7)
		for i := 0; i < rows; i++ {
			X.Set(i, 2, 3)                      // constant
			X.Set(i, 3, math.Round(X.At(i, 3))) // discrete: a handful of values
		}
		names := Names()
		if rows > 1000 {
			names = []string{"hbos", "isolation_forest"}
		}
		for _, name := range names {
			m, err := NewModel(name, nil, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Fit(ctx, X)
			if err != nil {
				t.Fatal(err)
			}
			p := m.Profile
			if p == nil {
				t.Fatalf("%s: no profile", name)
			}
			if err := p.Validate(m.Cols); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			flagged := 0
			for _, s := range res.Scores {
				if m.IsAnomaly(s) {
					flagged++
				}
			}
			if p.Rows != rows || p.Flagged != flagged {
				t.Errorf("%s: profile of %d rows, %d flagged; want %d, %d", name, p.Rows, p.Flagged, rows, flagged)
			}
			if want := stat.NewHistogram(res.Scores, ProfileScoreBins); !sameHistogram(p.Scores, want) {
				t.Errorf("%s: score histogram %v, want %v", name, p.Scores, want)
			}
			s := ProfileSampleRows(rows)
			if p.Sample != s || len(p.Features) != X.Cols {
				t.Fatalf("%s: sample %d, %d feature histograms; want %d, %d", name, p.Sample, len(p.Features), s, X.Cols)
			}
			for j, h := range p.Features {
				if want := stat.NewHistogram(sampledColumn(X, j, s), ProfileFeatureBins); !sameHistogram(h, want) {
					t.Errorf("%s: column %d: histogram %v, want %v", name, j, h, want)
				}
			}
			if c := p.Features[2]; c.Counts[0] != float64(s) || slices.ContainsFunc(c.Edges, func(e float64) bool { return e != 3 }) {
				t.Errorf("%s: constant column: %v", name, c)
			}
			if q := stat.Quantile(res.Scores, 1-m.Contamination); m.Threshold != q {
				t.Errorf("%s: threshold %v, stat.Quantile %v", name, m.Threshold, q)
			}
		}
	}
}

func TestProfileSampleRows(t *testing.T) {
	for _, tc := range [][2]int{{1, 1}, {300, 300}, {512, 512}, {10000, 512}, {25600, 512}, {100000, 2000}, {1000000, 20000}, {1 << 40, 20000}} {
		if got := ProfileSampleRows(tc[0]); got != tc[1] {
			t.Errorf("ProfileSampleRows(%d) = %d, want %d", tc[0], got, tc[1])
		}
	}
}

// TestProfileDeterministic: the columns are profiled in parallel, the result does not show it.
func TestProfileDeterministic(t *testing.T) {
	X := normalMatrix(3000, 37, 2)
	var first *Profile
	for range 5 {
		m, _ := NewModel("hbos", nil, 0.1)
		if _, err := m.Fit(context.Background(), X); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = m.Profile
		} else if !reflect.DeepEqual(first, m.Profile) {
			t.Fatal("two fits on the same data give different profiles")
		}
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gens := map[string]func() float64{
		"normal":   rng.NormFloat64,
		"scales":   func() float64 { return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(600)-300)) },
		"discrete": func() float64 { return float64(rng.IntN(5) - 2) },
		"zeros":    func() float64 { return []float64{0, math.Copysign(0, -1), 1e-320, -1e-320}[rng.IntN(4)] },
		"close":    func() float64 { return 1 + float64(rng.IntN(1000))*1e-12 },
		"extremes": func() float64 {
			return []float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64}[rng.IntN(5)]
		},
	}
	for name, gen := range gens {
		for _, n := range []int{0, 1, 2, 17, 512, 3000} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = gen()
			}
			want := slices.Sorted(slices.Values(xs))
			for i := range want {
				if want[i] == 0 {
					want[i] = 0 // radixSort makes -0 +0
				}
			}
			radixSort(xs, make([]uint64, n), make([]uint64, n))
			if !slices.EqualFunc(xs, want, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
				t.Errorf("%s, %d values: radixSort differs from slices.Sort", name, n)
			}
		}
	}
}

// TestProfileEncoding: the profile survives a model file, and a model without one (as written
// before profiles existed) has no "profile" in its header and loads with none.
func TestProfileEncoding(t *testing.T) {
	for _, name := range Names() {
		m, b := fitted(t, name, 60, 3, nil)
		m2, err := UnmarshalModel(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Profile, m2.Profile) {
			t.Errorf("%s: profile %+v after a round trip, %+v before", name, m2.Profile, m.Profile)
		}
		m.Profile = nil
		old, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(old, []byte("profile")) {
			t.Errorf("%s: a model without a profile writes one", name)
		}
		m3, err := UnmarshalModel(old)
		if err != nil || m3.Profile != nil {
			t.Errorf("%s: a model file without a profile: %v, profile %v", name, err, m3.Profile)
		}
	}
}

// reframed is the model file b with its header replaced by hdr.
func reframed(t testing.TB, b []byte, hdr modelHeader) []byte {
	t.Helper()
	hb, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	return reframedRaw(b, hb)
}

// TestProfileDecodeChecks: a header whose profile could not come from a fit is ErrBadModel.
func TestProfileDecodeChecks(t *testing.T) {
	m, b := fitted(t, "hbos", 60, 3, nil)
	header := func(edit func(p *profileHeader)) modelHeader {
		p := profileToHeader(m.Profile)
		// Deep copies, so that edits stay in this header.
		p.Scores = histogramHeader{slices.Clone(p.Scores.Edges), slices.Clone(p.Scores.Counts)}
		for j, f := range p.Features {
			p.Features[j] = histogramHeader{slices.Clone(f.Edges), slices.Clone(f.Counts)}
		}
		edit(p)
		return modelHeader{Algorithm: m.Algorithm, Params: m.Params, Contamination: m.Contamination, Threshold: m.Threshold, Cols: m.Cols, Profile: p}
	}
	if _, err := UnmarshalModel(reframed(t, b, header(func(*profileHeader) {}))); err != nil {
		t.Fatalf("the unedited profile: %v", err)
	}
	for what, edit := range map[string]func(p *profileHeader){
		"no rows":            func(p *profileHeader) { p.Rows = 0 },
		"flagged above rows": func(p *profileHeader) { p.Flagged = p.Rows + 1 },
		"negative flagged":   func(p *profileHeader) { p.Flagged = -1 },
		"score counts short": func(p *profileHeader) { p.Scores.Counts[0]-- },
		"score counts over":  func(p *profileHeader) { p.Scores.Counts[5] += 1e6 },
		"negative count":     func(p *profileHeader) { p.Features[0].Counts[0] -= 1; p.Features[0].Counts[1] = -1 },
		"fractional counts":  func(p *profileHeader) { p.Features[1].Counts[0] -= 0.5; p.Features[1].Counts[1] += 0.5 },
		"edges out of order": func(p *profileHeader) { p.Features[2].Edges[3] = p.Features[2].Edges[4] + 1 },
		"an edge missing":    func(p *profileHeader) { p.Scores.Edges = p.Scores.Edges[1:] },
		"no counts":          func(p *profileHeader) { p.Scores = histogramHeader{} },
		"too many bins": func(p *profileHeader) {
			p.Scores = histogramHeader{make([]float64, 1000), append(make([]float64, 1000), 60)}
		},
		"a feature missing":       func(p *profileHeader) { p.Features = p.Features[1:] },
		"sample above rows":       func(p *profileHeader) { p.Sample = p.Rows + 1 },
		"no sample":               func(p *profileHeader) { p.Sample = 0 },
		"huge edge":               func(p *profileHeader) { p.Features[0].Edges[len(p.Features[0].Edges)-1] = math.MaxFloat64 },
		"feature counts mismatch": func(p *profileHeader) { p.Features[0].Counts[0]++ },
	} {
		_, err := UnmarshalModel(reframed(t, b, header(edit)))
		if what == "huge edge" { // finite and in order: a valid histogram
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "profile") {
			t.Errorf("%s: err = %v", what, err)
		}
	}
	// Numbers float64 cannot hold, and text where numbers go, fail in the JSON decoder.
	hb, err := json.Marshal(header(func(*profileHeader) {}))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`"edges":["NaN",`, `"edges":[1e999,`, `"edges":{"a":[`} {
		h := bytes.Replace(hb, []byte(`"edges":[`), []byte(bad), 1)
		if _, err := UnmarshalModel(reframedRaw(b, h)); !errors.Is(err, ErrBadModel) {
			t.Errorf("header with %s: err = %v", bad, err)
		}
	}
}

// reframedRaw is the model file b with the raw header hb.
func reframedRaw(b, hb []byte) []byte {
	hlen := int(binary.LittleEndian.Uint32(b[len(modelMagic)+2:]))
	payload := b[prefixLen+hlen+8 : len(b)-4]
	out := append([]byte(modelMagic), 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint16(out[len(modelMagic):], ModelVersion)
	binary.LittleEndian.PutUint32(out[len(modelMagic)+2:], uint32(len(hb)))
	out = append(out, hb...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(payload)))
	out = append(out, payload...)
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// TestProfileHostileHeader: a header of 1 MiB of counts (the cap) allocates a small multiple of
// its size before the profile is refused: measured x24 (encoding/json grows the slice as it
// reads), less than a 1 MiB array in "params" already costs (x65), so the header cap still
// bounds a hostile header's cost at some tens of MiB.
func TestProfileHostileHeader(t *testing.T) {
	_, b := fitted(t, "hbos", 60, 3, nil)
	var hb bytes.Buffer
	hb.WriteString(`{"algorithm":"hbos","contamination":0.1,"threshold":1,"cols":3,"profile":{"rows":1,"scores":{"edges":[],"counts":[0`)
	for hb.Len() < maxHeader-10 {
		hb.WriteString(",0")
	}
	hb.WriteString("]}}}")
	file := reframedRaw(b, hb.Bytes())
	var err error
	n := allocated(func() { _, err = UnmarshalModel(file) })
	if !errors.Is(err, ErrBadModel) {
		t.Errorf("err = %v", err)
	}
	t.Logf("a %d-byte header of counts allocated %d bytes (x%.1f)", hb.Len(), n, float64(n)/float64(hb.Len()))
	if n > 32*uint64(hb.Len()) {
		t.Errorf("a %d-byte header allocated %d bytes, more than 32 times its size", hb.Len(), n)
	}
}

// TestProfileWide: the header of a model of MaxProfileColumns columns whose edges take the most
// room JSON gives a float64 (25 bytes) fits the header cap; a wider model gets no feature
// histograms.
func TestProfileWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	X := dataset.NewMatrix(600, MaxProfileColumns)
	for i := range X.Data {
		// In [1e-6, 2e-6), negative: "-0.0000012345678901234567", 25 bytes.
		X.Data[i] = -(1 + rng.Float64()) * 1e-6
	}
	m, err := NewModel("hbos", nil, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hlen := int(binary.LittleEndian.Uint32(b[len(modelMagic)+2:]))
	perCol := float64(hlen) / MaxProfileColumns
	t.Logf("header of %d columns: %d bytes (%.0f a column), cap %d", MaxProfileColumns, hlen, perCol, maxHeader)
	// The bound the doc comments give: 19 edges of 25 bytes, 20 counts of up to 5 digits.
	if perCol > 640 || hlen > maxHeader {
		t.Errorf("header of %d bytes for %d columns (%.0f a column)", hlen, MaxProfileColumns, perCol)
	}
	if _, err := UnmarshalModel(b); err != nil {
		t.Fatal(err)
	}

	wide := normalMatrix(40, MaxProfileColumns+1, 1)
	m, _ = NewModel("hbos", nil, 0.1)
	if _, err := m.Fit(context.Background(), wide); err != nil {
		t.Fatal(err)
	}
	if m.Profile == nil || m.Profile.Features != nil || m.Profile.Rows != 40 {
		t.Errorf("%d columns: profile %+v, want scores only", wide.Cols, m.Profile)
	}
}

var profileShapes = [][2]int{{100000, 10}, {10000, 100}}

// BenchmarkFitShapes and BenchmarkProfile together give the profile's share of a fit:
//
//	go test -run XXX -bench 'FitShapes|Profile' -count 5 ./detector/
func BenchmarkFitShapes(b *testing.B) {
	for _, alg := range []string{"isolation_forest", "hbos"} {
		for _, sh := range profileShapes {
			X := normalMatrix(sh[0], sh[1], 1)
			b.Run(fmt.Sprintf("%s/%dx%d", alg, sh[0], sh[1]), func(b *testing.B) {
				for b.Loop() {
					m, _ := NewModel(alg, nil, 0.1)
					if _, err := m.Fit(context.Background(), X); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkProfile is newProfile alone, the time Fit spends on the profile beyond the sort of
// the scores it always made for the threshold.
func BenchmarkProfile(b *testing.B) {
	for _, sh := range profileShapes {
		X := normalMatrix(sh[0], sh[1], 1)
		sorted := slices.Sorted(slices.Values(normalMatrix(sh[0], 1, 2).Data))
		b.Run(fmt.Sprintf("%dx%d", sh[0], sh[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := newProfile(context.Background(), X, sorted, 1.5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
