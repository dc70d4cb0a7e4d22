package detector

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/detector/internal/fit"
)

// Cost is what fitting a detector on data of a given shape needs, estimated before fitting:
//
//	Bytes int64         // peak memory the fit (and scoring the training rows) allocates, beyond the input matrix
//	Time  time.Duration // rough wall time of the fit on this machine's GOMAXPROCS cores
//
// Estimates are computed in float64 and saturate at math.MaxInt64, so absurd parameters give
// huge costs, never overflowed ones. They are meant to refuse fits that are far too big (10x or
// more), not to predict to the percent: docs of each algorithm's Estimate give its formula.
type Cost = fit.Cost

// Estimator is implemented by detectors that can tell what a fit on rows x cols costs. The
// estimate covers what Model.Fit asks of the detector: Fit, then Score of the training rows
// unless the detector is a TrainScorer, less the slice of training scores (the Model counts
// that). All six registered algorithms implement it.
type Estimator interface {
	Estimate(rows, cols int) Cost
}

// Budget bounds what one fit may need; a zero field is unlimited.
type Budget struct {
	Bytes int64
	Time  time.Duration
}

// ErrOverBudget is returned by CheckBudget for a fit that would need more than the budget. Its
// errors also match ErrBadParameter: the parameters (or the data's size) are the user's to
// change.
var ErrOverBudget = errors.New("over the resource budget")

// quantileNs is the time per element and per halving of Quantile's sort, measured (about 3 ns
// for 10^6 scores: 60 ms).
const quantileNs = 3

// Estimate returns the cost of Model.Fit on rows x cols: the detector's estimate (zero for a
// detector that is not an Estimator) plus the Model's own: the training scores, the sorted
// copy of them for the threshold, and the training Profile.
func (m *Model) Estimate(rows, cols int) Cost {
	var c Cost
	if e, ok := m.Detector.(Estimator); ok {
		c = e.Estimate(rows, cols)
	}
	n := float64(max(rows, 0))
	return fit.Add(fit.Add(c, fit.Make(16*n, quantileNs*n*math.Log2(n+1))), profileCost(rows, cols))
}

// CheckBudget returns nil if fitting the model on rows x cols fits the budget b, or an error
// wrapping ErrOverBudget and ErrBadParameter that says what it would need and which
// parameters drive the cost.
func (m *Model) CheckBudget(rows, cols int, b Budget) error {
	c := m.Estimate(rows, cols)
	var over []string
	if b.Bytes > 0 && c.Bytes > b.Bytes {
		over = append(over, fmt.Sprintf("would need about %s of memory, over the budget of %s", HumanBytes(c.Bytes), HumanBytes(b.Bytes)))
	}
	if b.Time > 0 && c.Time > b.Time {
		over = append(over, fmt.Sprintf("would take about %s, over the budget of %s", HumanDuration(c.Time), HumanDuration(b.Time)))
	}
	if len(over) == 0 {
		return nil
	}
	desc, advice := m.Algorithm, "fit on fewer rows"
	if a, err := Lookup(m.Algorithm); err == nil {
		var ps []string
		for _, name := range a.CostParams {
			ps = append(ps, fmt.Sprintf("%s=%v", name, m.Params[name]))
		}
		if len(ps) > 0 {
			desc += " with " + strings.Join(ps, ", ")
		}
		if a.CostAdvice != "" {
			advice = a.CostAdvice
		}
	}
	return fmt.Errorf("detector: %s on %d x %d %s: %s (%w; %w)", desc, rows, cols, strings.Join(over, " and "), advice, ErrOverBudget, ErrBadParameter)
}

// HumanBytes formats a byte count with binary units: 512 B, 1.5 KiB, 97.7 GiB.
func HumanBytes(b int64) string {
	const units = "KMGTPE"
	if b < 1024 {
		return strconv.FormatInt(b, 10) + " B"
	}
	v, u := float64(b), -1
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + units[u:u+1] + "iB"
}

// HumanDuration formats d rounded to about two significant units: 3h25m, 4m10s, 1.5s, 20ms.
func HumanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
	case d >= time.Minute:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Millisecond)
	case d >= time.Microsecond:
		d = d.Round(time.Microsecond)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
