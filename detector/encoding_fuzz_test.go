package detector

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpora in testdata/fuzz (and the payload corpora of iforest and ocsvm)")

// resealed returns b with its last four bytes replaced by the checksum of the rest, so that a
// mutated file gets past the checksum to the header and payload decoders.
func resealed(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

// FuzzUnmarshalModel checks that any bytes decode to a usable model or fail with ErrBadModel:
// no panic, no allocation beyond a multiple of the input. With reseal set the checksum is
// fixed first, so mutations reach the decoders behind it. A model that decodes must score rows
// of its width and survive an encode-decode round trip with the same scores. The seeds carry
// profiles of a few kB, which the fuzzer takes up to a minute each to minimize once it finds
// them interesting: run it with -fuzzminimizetime 100x.
func FuzzUnmarshalModel(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzUnmarshalModel (see TestFuzzCorpus).
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		if reseal {
			b = resealed(b)
		}
		m, err := UnmarshalModel(b)
		if err != nil {
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("error %v does not wrap ErrBadModel", err)
			}
			return
		}
		if !m.Fitted() || m.Detector == nil {
			t.Fatalf("decoded model is not fitted: %+v", m)
		}
		if m.Cols > 1<<12 {
			return // a valid model of very wide data; scoring it would only test the allocator
		}
		ctx := context.Background()
		X := probeRows(m.Cols)
		want, err := m.Score(ctx, X, nil)
		if err != nil {
			t.Fatalf("decoded %s model fails to score %d columns: %v", m.Algorithm, m.Cols, err)
		}
		if len(want) != X.Rows {
			t.Fatalf("%d scores for %d rows", len(want), X.Rows)
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %s model does not encode: %v", m.Algorithm, err)
		}
		m2, err := UnmarshalModel(again)
		if err != nil {
			t.Fatalf("re-encoded %s model does not decode: %v", m.Algorithm, err)
		}
		got, err := m2.Score(ctx, X, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Fatalf("row %d: score %v after a round trip, %v before", i, got[i], want[i])
			}
		}
	})
}

// probeRows is a few rows of width cols: zeros, ones, and large values of both signs.
func probeRows(cols int) *dataset.Matrix {
	X := dataset.NewMatrix(4, cols)
	for j := 0; j < cols; j++ {
		X.Set(1, j, 1)
		X.Set(2, j, 1e6)
		X.Set(3, j, -1e6*float64(j%3))
	}
	return X
}

// seedParams keep the seed models small: a long input slows every mutation of it.
var seedParams = map[string]map[string]any{"isolation_forest": {"n_estimators": 4, "max_samples": 8}}

// modelSeed is one input of FuzzUnmarshalModel.
type modelSeed struct {
	name   string
	b      []byte
	reseal bool
}

// modelSeeds are real models of every algorithm fitted on tiny data, and their truncations,
// bit flips and edits, plus hand-made hostile files.
func modelSeeds(t testing.TB) (seeds []modelSeed, payloads map[string][]byte) {
	payloads = map[string][]byte{}
	for _, name := range Names() {
		_, b := fitted(t, name, 24, 3, seedParams[name])
		hlen := int(binary.LittleEndian.Uint32(b[len(modelMagic)+2:]))
		payload := b[prefixLen+hlen+8 : len(b)-4]
		payloads[name] = payload
		flip := func(i int) []byte {
			c := bytes.Clone(b)
			c[i] ^= 0x10
			return c
		}
		seeds = append(seeds,
			modelSeed{name, b, false},
			modelSeed{name + "-truncated", b[:len(b)-1], false},
			modelSeed{name + "-half", b[:len(b)/2], true},
			modelSeed{name + "-flip-header", flip(prefixLen + hlen/2), true},
			modelSeed{name + "-flip-payload", flip(prefixLen + hlen + 8 + len(payload)/2), true},
			modelSeed{name + "-flip-unsealed", flip(len(b) / 2), false},
			modelSeed{name + "-wider-header", modelFile(t, name, 4, payload), false},
			modelSeed{name + "-payload-cut", modelFile(t, name, 3, payload[:len(payload)-8]), false},
		)
	}
	seeds = append(seeds,
		modelSeed{"empty", nil, false},
		modelSeed{"zeros", make([]byte, 64), true},
		modelSeed{"magic-then-zeros", append([]byte(modelMagic), make([]byte, 40)...), true},
		modelSeed{"framing-only", resealed(append(append([]byte(modelMagic), 1, 0), make([]byte, 16)...)), false},
		modelSeed{"unknown-algorithm", modelFile(t, "no_such", 3, payloads["hbos"]), false},
		modelSeed{"wrong-algorithm", modelFile(t, "ecod", 3, payloads["hbos"]), false},
	)
	// The profile in the header: absent (files written before it), and edited past its checks.
	m, b := fitted(t, "hbos", 24, 3, nil)
	hdr := modelHeader{Algorithm: m.Algorithm, Params: m.Params, Contamination: m.Contamination, Threshold: m.Threshold, Cols: m.Cols}
	seeds = append(seeds, modelSeed{"hbos-no-profile", reframed(t, b, hdr), false})
	for name, edit := range map[string]func(p *profileHeader){
		"profile-unsorted": func(p *profileHeader) { p.Features[0].Edges[0], p.Features[0].Edges[1] = 1, 0 },
		"profile-bins":     func(p *profileHeader) { p.Scores.Counts = append(p.Scores.Counts, 0) },
		"profile-sums":     func(p *profileHeader) { p.Rows++ },
	} {
		hdr.Profile = profileToHeader(m.Profile)
		hdr.Profile.Features[0].Edges = slices.Clone(hdr.Profile.Features[0].Edges)
		hdr.Profile.Scores.Counts = slices.Clone(hdr.Profile.Scores.Counts)
		edit(hdr.Profile)
		seeds = append(seeds, modelSeed{name, reframed(t, b, hdr), false})
	}
	return seeds, payloads
}

// TestFuzzCorpus rewrites the seed corpora of this package's fuzz targets when run with
// -update-corpus: testdata/fuzz/FuzzUnmarshalModel and FuzzParseParams here, and the
// algorithms' own payload targets (iforest and ocsvm FuzzUnmarshalBinary) from the same
// models. go test reads the files as seeds.
func TestFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	seeds, payloads := modelSeeds(t)
	dir := corpusDir(t, filepath.Join("testdata", "fuzz", "FuzzUnmarshalModel"))
	for _, s := range seeds {
		writeSeed(t, dir, s.name, fmt.Sprintf("[]byte(%q)\nbool(%v)\n", s.b, s.reseal))
	}
	for pkg, alg := range map[string]string{"iforest": "isolation_forest", "ocsvm": "one_class_svm"} {
		dir := corpusDir(t, filepath.Join(pkg, "testdata", "fuzz", "FuzzUnmarshalBinary"))
		p := payloads[alg]
		for name, b := range map[string][]byte{"model": p, "truncated": p[:len(p)-1], "half": p[:len(p)/2], "empty": nil} {
			writeSeed(t, dir, name, fmt.Sprintf("[]byte(%q)\n", b))
		}
	}
	dir = corpusDir(t, filepath.Join("testdata", "fuzz", "FuzzParseParams"))
	for _, s := range paramSeeds() {
		writeSeed(t, dir, s.name, fmt.Sprintf("string(%q)\nstring(%q)\nbool(%v)\n", s.algorithm, s.json, s.numbers))
	}
}

// corpusDir makes dir and removes the seed- files in it; crashers that go test -fuzz wrote
// there (named by hash) stay, as regression inputs.
func corpusDir(t *testing.T, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeSeed(t *testing.T, dir, name, values string) {
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte("go test fuzz v1\n"+values), 0o644); err != nil {
		t.Fatal(err)
	}
}
