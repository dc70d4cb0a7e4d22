package detector

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// Model file layout (little-endian), format version 1:
//
//	magic "GNMYMODL" | uint16 version | uint32 header length | header JSON | uint64 payload length |
//	payload (the algorithm's own MarshalBinary) | uint32 CRC-32 (IEEE) of everything before it
//
// The JSON header carries the algorithm, parameters, contamination, threshold and width, so a
// model file can be inspected without decoding the payload.
const (
	modelMagic   = "GNMYMODL"
	ModelVersion = 1
	maxHeader    = 1 << 20
)

type modelHeader struct {
	Algorithm     string         `json:"algorithm"`
	Params        map[string]any `json:"params"`
	Contamination float64        `json:"contamination"`
	Threshold     float64        `json:"threshold"`
	Cols          int            `json:"cols"`
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
	hdr, err := json.Marshal(modelHeader{m.Algorithm, m.Params, m.Contamination, m.Threshold, m.Cols})
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
// newer-version file is an error wrapping ErrBadModel.
func UnmarshalModel(b []byte) (*Model, error) {
	bad := func(format string, args ...any) (*Model, error) {
		return nil, fmt.Errorf("detector: model: %w: %s", ErrBadModel, fmt.Sprintf(format, args...))
	}
	if len(b) < len(modelMagic)+2+4+8+4 || string(b[:len(modelMagic)]) != modelMagic {
		return bad("not a gonomaly model file")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return bad("checksum mismatch (file truncated or corrupt)")
	}
	r := bytes.NewReader(body[len(modelMagic):])
	var ver uint16
	var hlen uint32
	binary.Read(r, binary.LittleEndian, &ver)
	if ver != ModelVersion {
		return bad("format version %d, this gonomaly reads version %d", ver, ModelVersion)
	}
	binary.Read(r, binary.LittleEndian, &hlen)
	if hlen > maxHeader || int(hlen) > r.Len() {
		return bad("header length %d", hlen)
	}
	hdrBytes := make([]byte, hlen)
	io.ReadFull(r, hdrBytes)
	var h modelHeader
	dec := json.NewDecoder(bytes.NewReader(hdrBytes))
	dec.UseNumber()
	if err := dec.Decode(&h); err != nil {
		return bad("header: %v", err)
	}
	var plen uint64
	if err := binary.Read(r, binary.LittleEndian, &plen); err != nil || plen != uint64(r.Len()) {
		return bad("payload length %d, %d bytes left", plen, r.Len())
	}
	payload := make([]byte, plen)
	io.ReadFull(r, payload)
	if h.Cols <= 0 || math.IsNaN(h.Threshold) {
		return bad("header has %d columns, threshold %v", h.Cols, h.Threshold)
	}
	m, err := NewModel(h.Algorithm, h.Params, h.Contamination)
	if err != nil {
		return bad("%v", err)
	}
	um, ok := m.Detector.(encoding.BinaryUnmarshaler)
	if !ok {
		return bad("%s cannot be loaded", h.Algorithm)
	}
	if err := um.UnmarshalBinary(payload); err != nil {
		return bad("%s payload: %v", h.Algorithm, err)
	}
	m.Threshold, m.Cols = h.Threshold, h.Cols
	return m, nil
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

// LoadFile reads a model written by SaveFile.
func LoadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("detector: load model: %w", err)
	}
	m, err := UnmarshalModel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
