package monitor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// HealthOptions tune a ModelHealth. The zero value gives the defaults.
type HealthOptions struct {
	// Window is the number of rows in a generation of counts (default 10000). Each detector
	// keeps the current generation and the one before, so its figures cover its last Window
	// to 2*Window rows: old enough rows leave, and a verdict never rests on a handful.
	Window int
	// MinRows is the number of rows below which a detector gets no verdict (default 500): its
	// Status is "unknown" and it raises no conditions.
	MinRows int
	// Alpha is the significance level of the anomaly-rate and Kolmogorov-Smirnov tests
	// (default 0.001). A monitor runs them again at every evaluation, for every detector, so
	// at the textbook 0.05 a healthy fleet would raise an alarm somewhere every few minutes;
	// the feature test divides Alpha among the features (Bonferroni).
	Alpha float64
	// PSIWarn and PSIAlert are the population stability index bands (defaults 0.1 and 0.25,
	// the usual reading: below 0.1 no shift, up to 0.25 a moderate one, above a major one).
	// A distribution has drifted when its PSI is at least PSIWarn and the shift is no chance:
	// the KS test or the chi-square test of the PSI (stat.PSIPValue) is significant, each at
	// half the level, the KS test finding moved locations and the PSI test changes of spread
	// or shape that KS misses. At PSIAlert the condition's severity is high.
	PSIWarn, PSIAlert float64
	// MaxDetectors bounds the detectors followed (default 10000); a new one beyond it evicts
	// the one seen least recently.
	MaxDetectors int
	// TopFeatures is the number of features a report lists, those that moved most (default 5).
	TopFeatures int
}

func (o HealthOptions) withDefaults() HealthOptions {
	if o.Window <= 0 {
		o.Window = 10000
	}
	o.Window = min(o.Window, math.MaxInt32) // counts are uint32
	if o.MinRows <= 0 {
		o.MinRows = 500
	}
	if !(o.Alpha > 0 && o.Alpha < 1) {
		o.Alpha = 0.001
	}
	if !(o.PSIWarn > 0) {
		o.PSIWarn = 0.1
	}
	if !(o.PSIAlert > 0) {
		o.PSIAlert = 0.25
	}
	o.PSIAlert = max(o.PSIAlert, o.PSIWarn)
	if o.MaxDetectors <= 0 {
		o.MaxDetectors = 10000
	}
	if o.TopFeatures <= 0 {
		o.TopFeatures = 5
	}
	return o
}

// The statuses of a DetectorHealth.
const (
	HealthUnknown = "unknown" // fewer than MinRows rows
	HealthOK      = "ok"
	HealthWarning = "warning" // a condition fires at medium severity
	HealthDrift   = "drift"   // a condition fires at high severity
)

// DetectorHealth is what a ModelHealth knows of one served detector over its last Window to
// 2*Window rows. Figures that were not measured (no rows, or a model without a Profile) are 0,
// their p-values 1.
type DetectorHealth struct {
	ID        string `json:"id"`
	Algorithm string `json:"algorithm"`
	Version   int64  `json:"version"`
	Rows      int64  `json:"rows"`    // rows the figures cover
	Flagged   int64  `json:"flagged"` // of them, scored above the threshold
	// Rate is Flagged/Rows and Expected the share the model flagged of its training rows
	// (its contamination, less when tied scores sit at the threshold; the contamination
	// itself for a model without a Profile). RateP is the two-sided p-value of the test that
	// the model still flags Expected: an exact binomial test whose size is the effective
	// n m / (n + m) of Rows and the n training rows, since the threshold is itself a quantile
	// of n scores.
	Rate     float64 `json:"rate"`
	Expected float64 `json:"expected"`
	RateP    float64 `json:"rate_p"`
	// ScorePSI is the population stability index of the scores against the training scores
	// over the training deciles, and ScorePSIP its p-value (stat.PSIPValue); ScoreKSD and
	// ScoreKSP the two-sample Kolmogorov-Smirnov statistic over the profile's 100 bins and
	// its p-value (stat.KSFromCounts).
	ScorePSI  float64 `json:"score_psi"`
	ScorePSIP float64 `json:"score_psi_p"`
	ScoreKSD  float64 `json:"score_ks_d"`
	ScoreKSP  float64 `json:"score_ks_p"`
	// Features are the TopFeatures features whose distribution moved most: those that
	// drifted first, then the others, each by PSI. DriftedFeatures is how many of all the
	// features drifted.
	Features        []FeatureDrift `json:"features"`
	DriftedFeatures int            `json:"drifted_features"`
	Profiled        bool           `json:"profiled"` // the model has a training Profile
	Status          string         `json:"status"`

	// The verdicts behind Status and the number of features, for Conditions.
	rateSev, scoreSev, featureSev Severity
	featureCount                  int
}

// FeatureDrift is how far one feature moved from its training distribution: PSI over the
// training deciles with its p-value, and the KS statistic over the profile's bins with its
// p-value (computed for the features a report lists and those whose PSI reaches PSIWarn,
// otherwise 0 and 1). Drifted is the verdict, with Alpha shared among the features.
type FeatureDrift struct {
	Index   int     `json:"index"`
	PSI     float64 `json:"psi"`
	PSIP    float64 `json:"psi_p"`
	KSD     float64 `json:"ks_d"`
	KSP     float64 `json:"ks_p"`
	Drifted bool    `json:"drifted"`
}

// ModelHealth watches served detectors: for each, the share of rows it flags against the
// share it flagged in training, and the distribution of its scores and of each feature
// against the training Profile kept with the model. Observe counts rows into fixed bins,
// so memory per detector is fixed (two generations of counts: 8 bytes per bin of the
// profile) and nothing of the rows is kept; Report and Conditions do the statistics.
// Safe for concurrent use; detectors do not wait for each other.
type ModelHealth struct {
	opts HealthOptions
	tick atomic.Int64 // orders Observe calls, for eviction
	mu   sync.RWMutex
	dets map[string]*healthDetector
}

// healthDetector is one detector's counts and what its report needs of the model.
type healthDetector struct {
	seen atomic.Int64 // tick of the last Observe

	mu        sync.Mutex
	id        string
	started   bool
	version   int64
	algorithm string
	threshold float64
	expected  float64           // share flagged on training data
	trainRows int               // 0 when unknown (no profile)
	profile   *detector.Profile // nil: the anomaly rate only
	features  bool              // the profile has feature histograms
	featOff   []int             // where feature j's counts start in a generation's features
	gens      [2]healthGen
	cur       int
}

type healthGen struct {
	rows, flagged int64
	scores        []uint32
	features      []uint32
}

// NewModelHealth returns a ModelHealth with opts (zero fields take their defaults).
func NewModelHealth(opts HealthOptions) *ModelHealth {
	return &ModelHealth{opts: opts.withDefaults(), dets: map[string]*healthDetector{}}
}

// ErrHealthShape is returned by Observe when the rows do not match the scores or the model.
var ErrHealthShape = errors.New("rows do not match the scores or the model")

// Observe counts rows that detector id, served as model m of the given version, has just
// scored: X holds the rows (X.Rows of m.Cols values) and scores their scores. A newer version
// than the last one seen starts the detector's counts anew; rows of an older one (requests
// still in flight when the model was replaced) are not counted. A model without a Profile
// (saved before profiles existed) gets the anomaly-rate check only, and X may then be nil.
// Observe costs O(rows * cols * log(bins)) and allocates nothing, except on a detector's
// first rows or a new version; it returns an error wrapping ErrHealthShape, counting
// nothing, when len(scores) != X.Rows or X.Cols != m.Cols.
func (h *ModelHealth) Observe(id string, version int64, m *detector.Model, X *dataset.Matrix, scores []float64) error {
	if m == nil {
		return fmt.Errorf("monitor: health of %s: %w: no model", id, ErrHealthShape)
	}
	if X != nil && (X.Rows != len(scores) || X.Cols != m.Cols || len(X.Data) < X.Rows*X.Cols) {
		return fmt.Errorf("monitor: health of %s: %w: %d scores for %d rows of %d columns, the model has %d",
			id, ErrHealthShape, len(scores), X.Rows, X.Cols, m.Cols)
	}
	d := h.detector(id)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.started || version > d.version:
		d.start(version, m)
	case version < d.version:
		return nil
	}
	var data []float64
	cols := 0
	if d.features {
		if X == nil || X.Cols != len(d.profile.Features) {
			return fmt.Errorf("monitor: health of %s: %w: no rows of the %d columns the model profiles", id, ErrHealthShape, len(d.profile.Features))
		}
		data, cols = X.Data, X.Cols
	}
	window := int64(h.opts.Window)
	for i, s := range scores {
		g := &d.gens[d.cur]
		if g.rows >= window {
			d.cur ^= 1
			g = &d.gens[d.cur]
			g.rows, g.flagged = 0, 0
			clear(g.scores)
			clear(g.features)
		}
		g.rows++
		if s > d.threshold {
			g.flagged++
		}
		if d.profile == nil || s != s {
			continue
		}
		g.scores[d.profile.Scores.Bin(s)]++
		if !d.features {
			continue
		}
		row := data[i*cols : (i+1)*cols]
		for j, x := range row {
			if x == x { // NaN is not counted (Model.Score refuses it anyway)
				g.features[d.featOff[j]+d.profile.Features[j].Bin(x)]++
			}
		}
	}
	return nil
}

// detector returns id's state, creating it (and evicting the least recently seen detector
// when MaxDetectors are followed), and marks it seen.
func (h *ModelHealth) detector(id string) *healthDetector {
	h.mu.RLock()
	d := h.dets[id]
	h.mu.RUnlock()
	if d == nil {
		h.mu.Lock()
		if d = h.dets[id]; d == nil {
			if len(h.dets) >= h.opts.MaxDetectors {
				h.evictLocked()
			}
			d = &healthDetector{id: id}
			h.dets[id] = d
		}
		h.mu.Unlock()
	}
	d.seen.Store(h.tick.Add(1))
	return d
}

// evictLocked removes the detector seen least recently: a scan, paid only by a new detector
// beyond MaxDetectors.
func (h *ModelHealth) evictLocked() {
	var oldest string
	first := true
	var at int64
	for id, d := range h.dets {
		if s := d.seen.Load(); first || s < at {
			oldest, at, first = id, s, false
		}
	}
	delete(h.dets, oldest)
}

// start sets d up for a model version: its counts from zero, sized by the model's profile.
func (d *healthDetector) start(version int64, m *detector.Model) {
	d.started, d.version, d.algorithm, d.threshold = true, version, m.Algorithm, m.Threshold
	d.expected, d.trainRows, d.profile, d.features = m.Contamination, 0, nil, false
	p := m.Profile
	if p != nil && p.Validate(m.Cols) == nil {
		d.profile, d.trainRows = p, p.Rows
		d.expected = float64(p.Flagged) / float64(p.Rows)
		d.features = len(p.Features) > 0
	}
	scoreBins, featBins := 0, 0
	d.featOff = d.featOff[:0]
	if d.profile != nil {
		scoreBins = len(d.profile.Scores.Counts)
		for _, f := range d.profile.Features {
			d.featOff = append(d.featOff, featBins)
			featBins += len(f.Counts)
		}
	}
	counts := make([]uint32, 2*(scoreBins+featBins))
	for i := range d.gens {
		c := counts[i*(scoreBins+featBins) : (i+1)*(scoreBins+featBins)]
		d.gens[i] = healthGen{scores: c[:scoreBins:scoreBins], features: c[scoreBins:]}
	}
	d.cur = 0
}

// Forget stops following detector id (deleted, or no longer served).
func (h *ModelHealth) Forget(id string) {
	h.mu.Lock()
	delete(h.dets, id)
	h.mu.Unlock()
}

// Follows reports whether detector id is followed (observed and not forgotten), cheaply.
func (h *ModelHealth) Follows(id string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.dets[id] != nil
}

// Report returns the health of detector id, and false if it has not been observed. It costs
// O(bins) for the counts, plus the KS p-values: up to about a millisecond each for the
// scores of a large training set (stat.KSFromCounts sums a term per effective row), and a
// tenth of that for a feature.
func (h *ModelHealth) Report(id string) (DetectorHealth, bool) {
	h.mu.RLock()
	d := h.dets[id]
	h.mu.RUnlock()
	if d == nil {
		return DetectorHealth{}, false
	}
	return h.report(d), true
}

// Reports returns the health of every detector followed, by ID.
func (h *ModelHealth) Reports() []DetectorHealth {
	h.mu.RLock()
	ds := make([]*healthDetector, 0, len(h.dets))
	for _, d := range h.dets {
		ds = append(ds, d)
	}
	h.mu.RUnlock()
	slices.SortFunc(ds, func(a, b *healthDetector) int { return strings.Compare(a.id, b.id) })
	out := make([]DetectorHealth, len(ds))
	for i, d := range ds {
		out[i] = h.report(d)
	}
	return out
}

// healthSnapshot is a copy of a detector's counts (both generations added), taken under its
// lock so that the statistics run outside it.
type healthSnapshot struct {
	r         DetectorHealth
	expected  float64
	trainRows int
	profile   *detector.Profile
	scores    []float64
	features  [][]float64
}

func (d *healthDetector) snapshot() healthSnapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	g0, g1 := &d.gens[0], &d.gens[1]
	s := healthSnapshot{
		r: DetectorHealth{ID: d.id, Algorithm: d.algorithm, Version: d.version,
			Rows: g0.rows + g1.rows, Flagged: g0.flagged + g1.flagged, Profiled: d.profile != nil},
		expected: d.expected, trainRows: d.trainRows, profile: d.profile,
	}
	if d.profile == nil {
		return s
	}
	n := len(g0.scores) + len(g0.features)
	buf := make([]float64, n)
	for i := range g0.scores {
		buf[i] = float64(g0.scores[i]) + float64(g1.scores[i])
	}
	s.scores = buf[:len(g0.scores)]
	feat := buf[len(g0.scores):]
	for i := range g0.features {
		feat[i] = float64(g0.features[i]) + float64(g1.features[i])
	}
	if d.features {
		s.features = make([][]float64, len(d.featOff))
		for j, off := range d.featOff {
			s.features[j] = feat[off : off+len(d.profile.Features[j].Counts)]
		}
	}
	return s
}

// report does the statistics on a snapshot of d.
func (h *ModelHealth) report(d *healthDetector) DetectorHealth {
	o := h.opts
	s := d.snapshot()
	r := s.r
	r.Expected, r.RateP, r.ScoreKSP = s.expected, 1, 1
	if r.Rows > 0 {
		r.Rate = float64(r.Flagged) / float64(r.Rows)
		r.RateP = rateTest(r.Flagged, r.Rows, s.expected, s.trainRows)
		if r.RateP < o.Alpha {
			r.rateSev = rateSeverity(r.Rate, r.Expected)
		}
	}
	if s.profile != nil && r.Rows > 0 {
		r.ScorePSI, r.ScorePSIP = decilePSI(s.profile.Scores.Counts, s.scores)
		r.ScoreKSD, r.ScoreKSP = ksFromCounts(s.profile.Scores.Counts, s.scores)
		r.scoreSev = h.verdict(r.ScorePSI, r.ScorePSIP, r.ScoreKSP, o.Alpha)
		r.featureCount = len(s.features)
		fs := make([]FeatureDrift, len(s.features))
		for j, live := range s.features {
			psi, p := decilePSI(s.profile.Features[j].Counts, live)
			fs[j] = FeatureDrift{Index: j, PSI: psi, PSIP: p, KSP: 1}
		}
		slices.SortStableFunc(fs, func(a, b FeatureDrift) int { return cmpDesc(a.PSI, b.PSI) })
		// The p-values are the costly part: only for the features the report lists and
		// those that could have drifted (PSI from PSIWarn; fs is by PSI, descending).
		alpha := o.Alpha / float64(max(len(fs), 1))
		for i := range fs {
			f := &fs[i]
			if i >= o.TopFeatures && f.PSI < o.PSIWarn {
				break
			}
			f.KSD, f.KSP = ksFromCounts(s.profile.Features[f.Index].Counts, s.features[f.Index])
			if sev := h.verdict(f.PSI, f.PSIP, f.KSP, alpha); sev > SeverityInfo {
				f.Drifted = true
				r.DriftedFeatures++
				r.featureSev = max(r.featureSev, sev)
			}
		}
		// The drifted features first, so the list names them; each part by PSI.
		slices.SortStableFunc(fs, func(a, b FeatureDrift) int {
			switch {
			case a.Drifted && !b.Drifted:
				return -1
			case b.Drifted && !a.Drifted:
				return 1
			}
			return 0
		})
		r.Features = fs[:min(len(fs), o.TopFeatures)]
	}
	switch verdict := max(r.rateSev, r.scoreSev, r.featureSev); {
	case r.Rows < int64(o.MinRows):
		r.Status = HealthUnknown
	case verdict >= SeverityHigh:
		r.Status = HealthDrift
	case verdict > SeverityInfo:
		r.Status = HealthWarning
	default:
		r.Status = HealthOK
	}
	return r
}
