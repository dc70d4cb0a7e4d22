package detector

import (
	"bytes"
	"context"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/stat"
)

// Model file layout (little-endian), format version 1:
//
//	magic "GNMYMODL" | uint16 version | uint32 header length | header JSON | uint64 payload length |
//	payload (the algorithm's own MarshalBinary) | uint32 CRC-32 (IEEE) of everything before it
//
// The JSON header carries the algorithm, parameters, contamination, threshold and width, so a
// model file can be inspected without decoding the payload, and under "profile" the model's
// training Profile (left out when the model has none, as in files written before profiles
// existed, which still load, with a nil Profile; readers that predate it ignore it):
//
//	"profile": {"rows": 10000, "flagged": 1000,
//	            "scores": {"edges": [99 numbers], "counts": [100 whole numbers]},
//	            "sample": 512, "features": [{"edges": [...], "counts": [...]}, ... one per column]}
//
// A profile is checked on decode (Profile.Validate). The header is at most 1 MiB, which a
// profile of MaxProfileColumns columns fits with room to spare (at most 640 bytes a column);
// decoding a hostile one allocates some tens of times the header's size, as its parameters
// already could (TestProfileHostileHeader), so the cap bounds it.
const (
	modelMagic   = "GNMYMODL"
	ModelVersion = 1
	maxHeader    = 1 << 20
	// prefixLen is the bytes before the header: magic, version, header length.
	prefixLen = len(modelMagic) + 2 + 4
	// framing is the bytes of a model file around its header and payload.
	framing = prefixLen + 8 + 4
)

// MaxModelFileBytes is the largest model file LoadFile reads (4 GiB). A model of a million
// training rows of 100 columns (knn, local_outlier_factor) takes about 0.8 GiB; the cap stops
// a corrupt length or a file that is not a model from taking all memory.
const MaxModelFileBytes = 4 << 30

type modelHeader struct {
	Algorithm     string         `json:"algorithm"`
	Params        map[string]any `json:"params"`
	Contamination float64        `json:"contamination"`
	Threshold     float64        `json:"threshold"`
	Cols          int            `json:"cols"`
	Profile       *profileHeader `json:"profile,omitempty"`
}

// profileHeader is a Profile in the header.
type profileHeader struct {
	Rows     int               `json:"rows"`
	Flagged  int               `json:"flagged"`
	Scores   histogramHeader   `json:"scores"`
	Sample   int               `json:"sample,omitempty"`
	Features []histogramHeader `json:"features,omitempty"`
}

type histogramHeader struct {
	Edges  []float64 `json:"edges"`
	Counts []float64 `json:"counts"`
}

func profileToHeader(p *Profile) *profileHeader {
	if p == nil {
		return nil
	}
	h := &profileHeader{Rows: p.Rows, Flagged: p.Flagged, Sample: p.Sample,
		Scores: histogramHeader(p.Scores), Features: make([]histogramHeader, len(p.Features))}
	for j, f := range p.Features {
		h.Features[j] = histogramHeader(f)
	}
	return h
}

func profileFromHeader(h *profileHeader) *Profile {
	if h == nil {
		return nil
	}
	p := &Profile{Rows: h.Rows, Flagged: h.Flagged, Sample: h.Sample, Scores: stat.Histogram(h.Scores)}
	if len(h.Features) > 0 {
		p.Features = make([]stat.Histogram, len(h.Features))
		for j, f := range h.Features {
			p.Features[j] = stat.Histogram(f)
		}
	}
	return p
}

// MarshalBinary encodes a fitted model.
func (m *Model) MarshalBinary() ([]byte, error) {
	if !m.Fitted() {
		return nil, fmt.Errorf("detector: %s: %w", m.Algorithm, ErrNotFitted)
	}
	bm, ok := m.Detector.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("detector: %s cannot be saved", m.Algorithm)
	}
	payload, err := bm.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("detector: %s: encode: %w", m.Algorithm, err)
	}
	hdr, err := json.Marshal(modelHeader{Algorithm: m.Algorithm, Params: m.Params, Contamination: m.Contamination,
		Threshold: m.Threshold, Cols: m.Cols, Profile: profileToHeader(m.Profile)})
	if err != nil {
		return nil, fmt.Errorf("detector: %s: encode header: %w", m.Algorithm, err)
	}
	b := make([]byte, 0, len(modelMagic)+2+4+len(hdr)+8+len(payload)+4)
	b = append(b, modelMagic...)
	b = binary.LittleEndian.AppendUint16(b, ModelVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	b = append(b, hdr...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(payload)))
	b = append(b, payload...)
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return b, nil
}

// UnmarshalModel decodes a model written by MarshalBinary. A truncated, corrupt or
// newer-version file is an error wrapping ErrBadModel. Every length in b is checked against
// the bytes that remain before it is used, so no input allocates more than a small multiple
// of len(b).
func UnmarshalModel(b []byte) (*Model, error) {
	if len(b) < framing || string(b[:len(modelMagic)]) != modelMagic {
		return nil, badModel("not a gonomaly model file")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, badModel("checksum mismatch (file truncated or corrupt)")
	}
	if ver := binary.LittleEndian.Uint16(body[len(modelMagic):]); ver != ModelVersion {
		return nil, badModel("format version %d, this gonomaly reads version %d", ver, ModelVersion)
	}
	hlen := binary.LittleEndian.Uint32(body[len(modelMagic)+2:])
	rest := body[prefixLen:]
	if hlen > maxHeader || uint64(hlen)+8 > uint64(len(rest)) {
		return nil, badModel("header length %d, %d bytes left", hlen, len(rest))
	}
	hdrBytes, rest := rest[:hlen], rest[hlen:]
	if plen := binary.LittleEndian.Uint64(rest); plen != uint64(len(rest)-8) {
		return nil, badModel("payload length %d, %d bytes left", plen, len(rest)-8)
	}
	payload := rest[8:]
	var h modelHeader
	dec := json.NewDecoder(bytes.NewReader(hdrBytes))
	dec.UseNumber()
	if err := dec.Decode(&h); err != nil {
		return nil, badModel("header: %v", err)
	}
	if h.Cols <= 0 || math.IsNaN(h.Threshold) {
		return nil, badModel("header has %d columns, threshold %v", h.Cols, h.Threshold)
	}
	prof := profileFromHeader(h.Profile)
	if prof != nil {
		if err := prof.Validate(h.Cols); err != nil {
			return nil, badModel("header: %v", err)
		}
	}
	m, err := NewModel(h.Algorithm, h.Params, h.Contamination)
	if err != nil {
		return nil, badModel("%v", err)
	}
	um, ok := m.Detector.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, badModel("%s cannot be loaded", h.Algorithm)
	}
	// The detector keeps no reference to payload (each decoder copies what it keeps).
	if err := um.UnmarshalBinary(payload); err != nil {
		return nil, badModel("%s payload: %v", h.Algorithm, err)
	}
	// The header's width must be the detector's: every detector scores an empty matrix of its
	// own width and rejects any other, so this checks it without allocating a row.
	if _, err := m.Detector.Score(context.Background(), &dataset.Matrix{Cols: h.Cols}, nil); err != nil {
		return nil, badModel("header says %d columns, the %s payload disagrees: %v", h.Cols, h.Algorithm, err)
	}
	m.Threshold, m.Cols, m.Profile = h.Threshold, h.Cols, prof
	return m, nil
}

func badModel(format string, args ...any) error {
	return fmt.Errorf("detector: model: %w: %s", ErrBadModel, fmt.Sprintf(format, args...))
}

// SaveFile writes a fitted model to path (via a temporary file and rename, so a crash never
// leaves half a model).
func (m *Model) SaveFile(path string) error {
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("detector: save model: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("detector: save model: %w", err)
	}
	return nil
}

// LoadFile reads a model written by SaveFile. A file larger than MaxModelFileBytes, or whose
// lengths do not add up to its size, is an error wrapping ErrBadModel, found before the
// payload is read.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("detector: load model: %w", err)
	}
	defer f.Close()
	size := int64(-1) // unknown: a pipe or a device
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	b, err := readModel(f, size, MaxModelFileBytes)
	if err == nil {
		var m *Model
		if m, err = UnmarshalModel(b); err == nil {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", path, err)
}

// readModel reads the bytes of one model file from r, trusting none of its lengths: it reads
// the prefix and header, computes the file's size from the header and payload lengths, and
// checks that against limit and, when size is known (not -1), against size, before it reads
// the payload. With the size unknown the payload buffer grows as bytes arrive, so a stream
// that claims a long payload and ends early costs only what it sent.
func readModel(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, badModel("%d bytes, more than the %s limit on model files", size, gib(limit))
	}
	var pre [prefixLen]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:len(modelMagic)]) != modelMagic {
		return nil, badModel("not a gonomaly model file")
	}
	if ver := binary.LittleEndian.Uint16(pre[len(modelMagic):]); ver != ModelVersion {
		return nil, badModel("format version %d, this gonomaly reads version %d", ver, ModelVersion)
	}
	hlen := binary.LittleEndian.Uint32(pre[len(modelMagic)+2:])
	if hlen > maxHeader || (size >= 0 && int64(hlen)+int64(framing) > size) {
		return nil, badModel("header length %d in a file of %d bytes", hlen, size)
	}
	head := make([]byte, prefixLen+int(hlen)+8)
	copy(head, pre[:])
	if _, err := io.ReadFull(r, head[prefixLen:]); err != nil {
		return nil, badModel("file ends in the header (truncated)")
	}
	plen := binary.LittleEndian.Uint64(head[len(head)-8:])
	if room := limit - int64(len(head)) - 4; room < 0 || plen > uint64(room) {
		return nil, badModel("payload length %d, more than the %s limit on model files", plen, gib(limit))
	}
	total := int64(len(head)) + int64(plen) + 4
	if size >= 0 && total != size {
		return nil, badModel("the lengths inside say %d bytes, the file has %d (truncated or corrupt)", total, size)
	}
	var b []byte
	if size >= 0 {
		b = make([]byte, total)
		copy(b, head)
		if _, err := io.ReadFull(r, b[len(head):]); err != nil {
			return nil, badModel("file ends in the payload (truncated)")
		}
	} else {
		buf := bytes.NewBuffer(head)
		if _, err := io.CopyN(buf, r, int64(plen)+4); err != nil {
			return nil, badModel("stream ends in the payload (truncated)")
		}
		b = buf.Bytes()
	}
	if n, _ := io.ReadFull(r, make([]byte, 1)); n != 0 {
		return nil, badModel("bytes after the checksum")
	}
	return b, nil
}

// gib writes n bytes in GiB.
func gib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<30), 'f', -1, 64) + " GiB" }
