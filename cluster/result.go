package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// A partition's result, as a worker stores it in the object store: the magic "GNYSCOR1", the
// row count (uint64, little-endian), a flags byte (1: labels follow), the scores (float64,
// little-endian), then one byte a row of labels (0 or 1) when flagged.
const resultMagic = "GNYSCOR1"

// MaxResultRows bounds the rows of one partition's result (2^31: 16 GiB of scores, far past
// any partition a worker should be given).
const MaxResultRows = 1 << 31

// EncodeResult encodes the scores (and labels, if not nil: one a score) of a partition.
func EncodeResult(scores []float64, labels []int) ([]byte, error) {
	if labels != nil && len(labels) != len(scores) {
		return nil, fmt.Errorf("%d labels for %d scores", len(labels), len(scores))
	}
	n := len(scores)
	size := len(resultMagic) + 9 + 8*n
	if labels != nil {
		size += n
	}
	b := make([]byte, size)
	copy(b, resultMagic)
	o := len(resultMagic)
	binary.LittleEndian.PutUint64(b[o:], uint64(n))
	o += 8
	if labels != nil {
		b[o] = 1
	}
	o++
	for _, s := range scores {
		binary.LittleEndian.PutUint64(b[o:], math.Float64bits(s))
		o += 8
	}
	for _, v := range labels {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("label %d: must be 0 or 1", v)
		}
		b[o] = byte(v)
		o++
	}
	return b, nil
}

// ErrBadResult is wrapped by DecodeResult's errors.
var ErrBadResult = errors.New("not a partition result")

// DecodeResult decodes what EncodeResult wrote; its length must match the row count exactly.
func DecodeResult(b []byte) (scores []float64, labels []int, err error) {
	h := len(resultMagic) + 9
	if len(b) < h || string(b[:len(resultMagic)]) != resultMagic {
		return nil, nil, fmt.Errorf("%w: no header", ErrBadResult)
	}
	n := binary.LittleEndian.Uint64(b[len(resultMagic):])
	flags := b[h-1]
	if n > MaxResultRows || flags > 1 {
		return nil, nil, fmt.Errorf("%w: %d rows, flags %d", ErrBadResult, n, flags)
	}
	want := uint64(h) + 8*n
	if flags == 1 {
		want += n
	}
	if uint64(len(b)) != want {
		return nil, nil, fmt.Errorf("%w: %d bytes for %d rows (want %d)", ErrBadResult, len(b), n, want)
	}
	scores = make([]float64, n)
	o := h
	for i := range scores {
		scores[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[o:]))
		o += 8
	}
	if flags == 1 {
		labels = make([]int, n)
		for i := range labels {
			if b[o] > 1 {
				return nil, nil, fmt.Errorf("%w: label %d of row %d", ErrBadResult, b[o], i+1)
			}
			labels[i] = int(b[o])
			o++
		}
	}
	return scores, labels, nil
}
