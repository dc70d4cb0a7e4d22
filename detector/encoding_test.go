package detector

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/binenc"
)

// modelFile frames a payload as a model file of the algorithm with a header of cols columns.
func modelFile(t testing.TB, algorithm string, cols int, payload []byte) []byte {
	hdr, err := json.Marshal(modelHeader{Algorithm: algorithm, Contamination: 0.1, Threshold: 1, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(modelMagic), 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint16(b[len(modelMagic):], ModelVersion)
	binary.LittleEndian.PutUint32(b[len(modelMagic)+2:], uint32(len(hdr)))
	b = append(b, hdr...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(payload)))
	b = append(b, payload...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// TestUnmarshalModelOverflow: payloads whose lengths agree only after an integer overflow
// (rows x columns wrapping to the number of values sent) are ErrBadModel.
func TestUnmarshalModelOverflow(t *testing.T) {
	const huge = 1 << 62 // 4 rows x 2^62 columns = 2^64 = 0 values
	lof := binenc.Writer{}
	lof.Int(1)                          // format version
	lof.Int(1)                          // n_neighbors
	lof.Int(1)                          // used
	lof.Int(huge)                       // columns
	lof.Float64s(nil)                   // training rows
	lof.Float64s([]float64{1, 1, 1, 1}) // k-distances
	lof.Float64s([]float64{1, 1, 1, 1}) // densities
	lof.Float64s([]float64{1, 1, 1, 1}) // training scores
	svm := binenc.Writer{}
	svm.Int(1)                                  // format version
	svm.Int(huge)                               // columns
	svm.Int(4)                                  // training rows
	svm.Float64(1)                              // gamma
	svm.Float64(0)                              // rho
	svm.Int(0)                                  // iterations
	svm.Bool(false)                             // iteration cap reached
	svm.Float64s([]float64{0.5, 0.5, 0.5, 0.5}) // alphas
	svm.Float64s(nil)                           // support vectors
	for alg, payload := range map[string][]byte{"local_outlier_factor": lof.Buf, "one_class_svm": svm.Buf} {
		if _, err := UnmarshalModel(modelFile(t, alg, huge, payload)); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: err = %v", alg, err)
		}
	}
}

// fitted returns a small fitted model of the algorithm and its encoding.
func fitted(t testing.TB, algorithm string, rows, cols int, params map[string]any) (*Model, []byte) {
	m, err := NewModel(algorithm, params, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: rows, Cols: cols, Seed: 3})
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}

// TestUnmarshalModelWidth: a header whose width is not the payload's is ErrBadModel.
func TestUnmarshalModelWidth(t *testing.T) {
	for _, name := range Names() {
		m, b := fitted(t, name, 40, 3, nil)
		payload := b[prefixLen+int(binary.LittleEndian.Uint32(b[len(modelMagic)+2:]))+8 : len(b)-4]
		if _, err := UnmarshalModel(modelFile(t, name, m.Cols, payload)); err != nil {
			t.Fatalf("%s: reframed model: %v", name, err)
		}
		_, err := UnmarshalModel(modelFile(t, name, m.Cols+1, payload))
		if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "header says 4 columns") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestUnmarshalModelLengths: lengths in the framing that do not match the bytes are ErrBadModel.
func TestUnmarshalModelLengths(t *testing.T) {
	_, good := fitted(t, "hbos", 30, 2, nil)
	hlen := int(binary.LittleEndian.Uint32(good[len(modelMagic)+2:]))
	reseal := func(edit func(b []byte)) []byte {
		b := bytes.Clone(good[:len(good)-4])
		edit(b)
		return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	}
	for what, b := range map[string][]byte{
		"header length past the end":  reseal(func(b []byte) { binary.LittleEndian.PutUint32(b[len(modelMagic)+2:], uint32(len(b))) }),
		"header length over 1 MiB":    reseal(func(b []byte) { binary.LittleEndian.PutUint32(b[len(modelMagic)+2:], 1<<31) }),
		"payload length 2^63":         reseal(func(b []byte) { binary.LittleEndian.PutUint64(b[prefixLen+hlen:], 1<<63) }),
		"payload length one short":    reseal(func(b []byte) { binary.LittleEndian.PutUint64(b[prefixLen+hlen:], uint64(len(b)-prefixLen-hlen-8-1)) }),
		"header not JSON":             reseal(func(b []byte) { b[prefixLen] = '[' }),
		"only the framing":            good[:framing],
		"magic and nothing":           []byte(modelMagic),
		"version 2, checksum correct": reseal(func(b []byte) { b[len(modelMagic)] = 2 }),
	} {
		if _, err := UnmarshalModel(b); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: err = %v", what, err)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadFileLimits: a file over the cap, or whose lengths claim more than it holds, fails
// before its payload is read, allocating next to nothing.
func TestLoadFileLimits(t *testing.T) {
	dir := t.TempDir()
	_, good := fitted(t, "hbos", 30, 2, nil)
	hlen := int(binary.LittleEndian.Uint32(good[len(modelMagic)+2:]))

	// A sparse file one byte over the cap.
	big := filepath.Join(dir, "big.gnm")
	if err := os.WriteFile(big, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxModelFileBytes+1); err != nil {
		t.Skipf("no sparse file: %v", err)
	}
	var err error
	if n := allocated(func() { _, err = LoadFile(big) }); n > 1<<20 {
		t.Errorf("a file over the cap allocated %d bytes", n)
	}
	if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "more than the 4 GiB limit") {
		t.Errorf("file over the cap: err = %v", err)
	}

	// A small file whose payload length claims 3 GiB.
	lying := bytes.Clone(good)
	binary.LittleEndian.PutUint64(lying[prefixLen+hlen:], 3<<30)
	path := filepath.Join(dir, "lying.gnm")
	if err := os.WriteFile(path, lying, 0o644); err != nil {
		t.Fatal(err)
	}
	if n := allocated(func() { _, err = LoadFile(path) }); n > 1<<20 {
		t.Errorf("a 3 GiB payload length allocated %d bytes", n)
	}
	if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "the file has") {
		t.Errorf("payload length past the file: err = %v", err)
	}

	// The same from a stream of unknown size: it costs what the stream sent.
	if n := allocated(func() { _, err = readModel(bytes.NewReader(lying), -1, MaxModelFileBytes) }); n > 1<<20 {
		t.Errorf("a 3 GiB payload length on a stream allocated %d bytes", n)
	}
	if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("stream: err = %v", err)
	}
	// A payload past a smaller cap, and bytes after the checksum.
	if _, err := readModel(bytes.NewReader(good), -1, int64(len(good)-1)); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("payload past the cap: err = %v", err)
	}
	if _, err := readModel(io.MultiReader(bytes.NewReader(good), strings.NewReader("x")), -1, MaxModelFileBytes); !errors.Is(err, ErrBadModel) {
		t.Errorf("trailing bytes: err = %v", err)
	}
	b, err := readModel(bytes.NewReader(good), -1, int64(len(good)))
	if err != nil || !bytes.Equal(b, good) {
		t.Errorf("a model exactly at the cap: err = %v", err)
	}

	// Not a model at all: /dev/zero fails at the magic.
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := LoadFile("/dev/zero"); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "not a gonomaly model file") {
			t.Errorf("/dev/zero: err = %v", err)
		}
	}
	// A model with its magic, then zeros for ever: the header length is 0, the payload length 0,
	// the checksum wrong.
	if _, err := readModel(io.MultiReader(bytes.NewReader(good[:len(modelMagic)+2]), zeroReader{}), -1, MaxModelFileBytes); !errors.Is(err, ErrBadModel) {
		t.Errorf("magic then zeros: err = %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
