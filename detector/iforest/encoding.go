package iforest

import (
	"fmt"
	"math"

	"github.com/gonomaly/gonomaly/internal/binenc"
)

// formatVersion is the first field of the encoding; UnmarshalBinary rejects any other.
const formatVersion = 1

// MarshalBinary encodes the configuration (without Workers) and the fitted forest.
func (d *Detector) MarshalBinary() ([]byte, error) {
	m := d.m
	if m == nil {
		return nil, ErrNotFitted
	}
	feats := make([]int32, len(m.offs))
	thrs := make([]float32, len(m.keys))
	for i, off := range m.offs {
		feats[i], thrs[i] = int32(off/uint32(m.block)), unkey32(m.keys[i])
	}
	w := binenc.Writer{Buf: make([]byte, 0, 128+8*len(m.offs)+8*len(m.leaves))}
	w.Int(formatVersion)
	w.Int(d.cfg.Trees)
	w.Float64(d.cfg.MaxSamples)
	w.Float64(d.cfg.MaxFeatures)
	w.Bool(d.cfg.Bootstrap)
	w.Uint64(d.cfg.Seed)
	w.Int(m.cols)
	w.Int(m.psi)
	w.Int(m.depth)
	w.Int(m.trees)
	w.Int32s(feats)
	w.Float32s(thrs)
	w.Float64s(m.leaves)
	return w.Buf, nil
}

// UnmarshalBinary replaces the detector's configuration (keeping its Workers) and forest with
// those encoded by MarshalBinary. A truncated or corrupt payload is an error and leaves the
// detector unchanged.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("iforest: model format version %d, this build reads %d", v, formatVersion)
	}
	cfg := Config{Trees: r.Int(), MaxSamples: r.Float64(), MaxFeatures: r.Float64(),
		Bootstrap: r.Bool(), Seed: r.Uint64(), Workers: d.cfg.Workers}
	m := &model{cols: r.Int(), psi: r.Int(), depth: r.Int(), trees: r.Int()}
	feats := r.Int32s()
	thrs := r.Float32s()
	m.leaves = r.Float64s()
	if err := r.Done(); err != nil {
		return fmt.Errorf("iforest: decode model: %w", err)
	}
	bad := func(what string, args ...any) error {
		return fmt.Errorf("iforest: decode model: "+what, args...)
	}
	if _, err := New(cfg); err != nil || cfg.Trees < 1 {
		return bad("invalid configuration %+v", cfg)
	}
	if m.cols < 1 || m.psi < 1 || m.depth != treeDepth(m.psi) || m.depth > 30 || m.trees != cfg.Trees {
		return bad("invalid shape: cols %d, max_samples %d, depth %d, trees %d", m.cols, m.psi, m.depth, m.trees)
	}
	ni, nl := 1<<m.depth-1, 1<<m.depth
	if len(feats) != len(thrs) || len(feats)%ni != 0 || len(feats)/ni != m.trees || len(m.leaves) != m.trees*nl {
		return bad("%d nodes and %d leaves do not make %d trees of depth %d", len(feats), len(m.leaves), m.trees, m.depth)
	}
	if m.cols > math.MaxInt32/blockRows(m.cols) {
		return bad("%d columns is more than this implementation handles", m.cols)
	}
	m.block = blockRows(m.cols)
	m.offs, m.keys = make([]uint32, len(feats)), make([]uint32, len(feats))
	for i, f := range feats {
		if f < 0 || int(f) >= m.cols {
			return bad("node %d splits on column %d of %d", i, f, m.cols)
		}
		if math.IsNaN(float64(thrs[i])) {
			return bad("node %d has threshold NaN", i)
		}
		m.offs[i], m.keys[i] = uint32(f)*uint32(m.block), key32(thrs[i])
	}
	for i, v := range m.leaves {
		if !(v >= 0) || math.IsInf(v, 0) {
			return bad("leaf %d has path length %v", i, v)
		}
	}
	d.cfg, d.m = cfg, m
	return nil
}
