package report

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/gonomaly/gonomaly/stat"
)

// CrossDataset ranks the algorithms over the labelled datasets the period's comparisons ran
// on, the way papers compare detectors (Demšar 2006, "Statistical Comparisons of Classifiers
// over Multiple Data Sets", JMLR 7): a Friedman test of whether they perform alike, their mean
// ranks, and the Nemenyi critical difference at 0.05.
type CrossDataset struct {
	// Metric is the accuracy compared: "roc_auc", as the comparisons rank by it.
	Metric string `json:"metric"`
	// Algorithms are those with an accuracy on every dataset, best mean rank first; each
	// dataset's Scores and MeanRanks are in this order.
	Algorithms []string        `json:"algorithms"`
	Datasets   []DatasetScores `json:"datasets"`
	MeanRanks  []float64       `json:"mean_ranks"`
	// Chi2 and P are stat.Friedman's statistic and p-value; nil when they are undefined (every
	// dataset ties every algorithm).
	Chi2 *float64 `json:"friedman_chi2"`
	P    *float64 `json:"friedman_p"`
	// CriticalDifference is stat.NemenyiCD at alpha 0.05: two algorithms whose mean ranks
	// differ by at least it perform significantly differently. nil for more than 10
	// algorithms.
	CriticalDifference *float64 `json:"critical_difference_05"`
	// Groups are the maximal runs of algorithms, in the order of Algorithms, whose mean ranks
	// are all within the critical difference of each other (the bars of a CD diagram); only
	// runs of two or more.
	Groups [][]string `json:"groups"`
	// Seconds is each algorithm's median over the datasets of its median total (fit +
	// score) seconds, in the order of Algorithms; 0 when no dataset timed it.
	Seconds []float64 `json:"seconds_median"`
	// Recommendation is the algorithm the comparison recommends, by the rule in
	// docs/report-json.md.
	Recommendation DatasetRecommendation `json:"recommendation"`
}

// Rules of DatasetRecommendation.Rule.
const (
	// RuleBestRanked: the Friedman test rejects at 0.05 that the algorithms perform alike;
	// the best mean rank is recommended.
	RuleBestRanked = "best_ranked"
	// RuleFastest: it does not (or is undefined); the data cannot tell the algorithms apart,
	// and the fastest is recommended.
	RuleFastest = "fastest"
)

// DatasetRecommendation is the choice the comparison across datasets supports.
type DatasetRecommendation struct {
	Rule      string `json:"rule"`
	Algorithm string `json:"algorithm"`
	// NotDifferent are, under RuleBestRanked, the algorithms whose mean rank is within the
	// Nemenyi critical difference of the recommended one's (not significantly worse); empty
	// when the critical difference is undefined (more than 10 algorithms).
	NotDifferent []string `json:"not_significantly_different"`
	// Fastest is the fastest of the recommended algorithm and NotDifferent, when it is
	// another one: as accurate as far as the data can tell, and quicker.
	Fastest string `json:"fastest_equivalent,omitempty"`
	Text    string `json:"text"`
}

// DatasetScores is one dataset's accuracies, from its newest comparison in the period.
type DatasetScores struct {
	Dataset string    `json:"dataset"`
	SuiteID string    `json:"suite_id"`
	Scores  []float64 `json:"scores"`
}

// crossDataset ranks the algorithms of the comparisons (oldest first) over their datasets,
// each dataset by its newest comparison; nil unless at least two datasets share at least two
// algorithms with a ROC-AUC.
func crossDataset(comparisons []Comparison) *CrossDataset {
	newest := map[string]Comparison{}
	for _, c := range comparisons {
		newest[c.Dataset] = c
	}
	if len(newest) < 2 {
		return nil
	}
	datasets := slices.Sorted(func(yield func(string) bool) {
		for d := range newest {
			if !yield(d) {
				return
			}
		}
	})
	auc := map[string]map[string]float64{} // dataset -> algorithm -> ROC-AUC
	common := map[string]int{}
	for _, d := range datasets {
		auc[d] = map[string]float64{}
		for _, a := range newest[d].Algorithms {
			if a.ROCAUC != nil && !math.IsNaN(*a.ROCAUC) {
				if _, dup := auc[d][a.Algorithm]; !dup {
					common[a.Algorithm]++
				}
				auc[d][a.Algorithm] = *a.ROCAUC
			}
		}
	}
	var algs []string
	for a, n := range common {
		if n == len(datasets) {
			algs = append(algs, a)
		}
	}
	if len(algs) < 2 {
		return nil
	}
	slices.Sort(algs)
	scores := make([][]float64, len(datasets))
	for i, d := range datasets {
		scores[i] = make([]float64, len(algs))
		for j, a := range algs {
			scores[i][j] = auc[d][a]
		}
	}
	chi2, p, ranks := stat.Friedman(scores)
	// Best mean rank first, then by name.
	order := make([]int, len(algs))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ranks[a], ranks[b]) })
	x := &CrossDataset{Metric: "roc_auc", Datasets: []DatasetScores{}, Groups: [][]string{}}
	for _, j := range order {
		x.Algorithms = append(x.Algorithms, algs[j])
		x.MeanRanks = append(x.MeanRanks, ranks[j])
	}
	for i, d := range datasets {
		ds := DatasetScores{Dataset: d, SuiteID: newest[d].SuiteID}
		for _, j := range order {
			ds.Scores = append(ds.Scores, scores[i][j])
		}
		x.Datasets = append(x.Datasets, ds)
	}
	if !math.IsNaN(chi2) {
		x.Chi2, x.P = &chi2, &p
	}
	if cd := stat.NemenyiCD(len(algs), len(datasets), 0.05); !math.IsNaN(cd) {
		x.CriticalDifference = &cd
		for _, g := range cdGroups(x.MeanRanks, cd) {
			x.Groups = append(x.Groups, slices.Clone(x.Algorithms[g[0]:g[1]+1]))
		}
	}
	for _, a := range x.Algorithms {
		var secs []float64
		for _, d := range datasets {
			for _, c := range newest[d].Algorithms {
				if c.Algorithm == a && c.Seconds > 0 && !math.IsInf(c.Seconds, 0) {
					secs = append(secs, c.Seconds)
					break
				}
			}
		}
		x.Seconds = append(x.Seconds, median(secs))
	}
	x.Recommendation = x.recommend()
	return x
}

// datasetAlpha is the level at which the Friedman test's rejection is taken.
const datasetAlpha = 0.05

// recommend applies the rule of docs/report-json.md: when the Friedman test rejects at 0.05,
// the best mean rank, naming those within the critical difference of it and the fastest of
// them; else the fastest, since the data cannot tell the algorithms apart.
func (x *CrossDataset) recommend() DatasetRecommendation {
	fastest := func(among []int) int {
		best := -1
		for _, j := range among {
			if x.Seconds[j] > 0 && (best < 0 || x.Seconds[j] < x.Seconds[best]) {
				best = j
			}
		}
		return best
	}
	secs := func(j int) string {
		if x.Seconds[j] > 0 {
			return fmt.Sprintf("%.3g s", x.Seconds[j])
		}
		return "not timed"
	}
	if x.P != nil && *x.P < datasetAlpha {
		r := DatasetRecommendation{Rule: RuleBestRanked, Algorithm: x.Algorithms[0], NotDifferent: []string{}}
		among := []int{0}
		if x.CriticalDifference != nil {
			for j := 1; j < len(x.Algorithms); j++ {
				if x.MeanRanks[j]-x.MeanRanks[0] < *x.CriticalDifference {
					r.NotDifferent = append(r.NotDifferent, x.Algorithms[j])
					among = append(among, j)
				}
			}
		}
		r.Text = fmt.Sprintf("%s ranks best over %d datasets (mean rank %.2f; Friedman p = %.2g < 0.05)", r.Algorithm, len(x.Datasets), x.MeanRanks[0], *x.P)
		switch {
		case x.CriticalDifference == nil:
			r.Text += "; with more than 10 algorithms the Nemenyi test is not applied, so no algorithm is shown to be worse"
		case len(r.NotDifferent) == 0:
			r.Text += fmt.Sprintf("; every other algorithm is significantly worse (Nemenyi critical difference %.2f)", *x.CriticalDifference)
		default:
			r.Text += fmt.Sprintf("; %s not significantly different from it (Nemenyi critical difference %.2f)",
				andList(r.NotDifferent, "is", "are"), *x.CriticalDifference)
		}
		if f := fastest(among); f > 0 && x.Seconds[0] > 0 {
			r.Fastest = x.Algorithms[f]
			r.Text += fmt.Sprintf("; of those, %s is the fastest (%s against %s)", r.Fastest, secs(f), secs(0))
		}
		return r
	}
	all := make([]int, len(x.Algorithms))
	for j := range all {
		all[j] = j
	}
	r := DatasetRecommendation{Rule: RuleFastest, NotDifferent: []string{}}
	why := "the Friedman test is undefined (every dataset ties every algorithm)"
	if x.P != nil {
		why = fmt.Sprintf("Friedman p = %.2g >= 0.05", *x.P)
	}
	if f := fastest(all); f >= 0 {
		r.Algorithm = x.Algorithms[f]
		r.Text = fmt.Sprintf("over %d datasets the data cannot tell the algorithms apart (%s): the fastest, %s (median %s), is recommended",
			len(x.Datasets), why, r.Algorithm, secs(f))
	} else {
		r.Algorithm = x.Algorithms[0]
		r.Text = fmt.Sprintf("over %d datasets the data cannot tell the algorithms apart (%s) and none was timed: %s has the best mean rank",
			len(x.Datasets), why, r.Algorithm)
	}
	return r
}

// andList joins names as "a", "a and b", "a, b and c", with the verb for one or several.
func andList(names []string, one, several string) string {
	switch len(names) {
	case 1:
		return names[0] + " " + one
	case 2:
		return names[0] + " and " + names[1] + " " + several
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " " + several
}

// cdGroups returns the maximal runs [i, j] of sorted mean ranks with ranks[j] - ranks[i] < cd,
// of two or more, each not inside the one before (Demšar's "connected" groups).
func cdGroups(ranks []float64, cd float64) [][2]int {
	var out [][2]int
	last := -1
	for i := range ranks {
		j := i
		for j+1 < len(ranks) && ranks[j+1]-ranks[i] < cd {
			j++
		}
		if j > i && j > last {
			out = append(out, [2]int{i, j})
			last = j
		}
	}
	return out
}

// cdChart draws the critical-difference diagram: an axis of ranks from 1 to k, each algorithm
// at its mean rank with its name, a bar joining each group not significantly different, and
// the critical difference's length above the axis.
func cdChart(id string, x *CrossDataset) template.HTML {
	k := len(x.Algorithms)
	const w, left, right, axisY = chartW, 60.0, 60.0, 50.0
	base := axisY + 24 + 6*float64(len(x.Groups)) // the first name's line, below the groups' bars
	h := base + 16*float64(k)
	sc := newScale(1, float64(k), left, w-right, false)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart cd" data-chart="%s" data-points="%d" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`,
		esc(id), k, w, h, w, h, esc("critical-difference diagram"))
	fmt.Fprintf(&b, `<line class="err" x1="%.1f" y1="%g" x2="%.1f" y2="%g"/>`, sc.at(1), axisY, sc.at(float64(k)), axisY)
	for r := 1; r <= k; r++ {
		px := sc.at(float64(r))
		fmt.Fprintf(&b, `<line class="err" x1="%.1f" y1="%g" x2="%.1f" y2="%g"/><text class="tick" x="%.1f" y="%g" text-anchor="middle">%d</text>`,
			px, axisY-5, px, axisY, px, axisY-8, r)
	}
	if x.CriticalDifference != nil {
		cd := *x.CriticalDifference
		fmt.Fprintf(&b, `<path class="limit" d="M%.1f 14H%.1f"/><text class="tick" x="%.1f" y="10">CD = %s</text>`,
			sc.at(1), sc.at(math.Min(1+cd, float64(k))), sc.at(1), esc(num(cd)))
	}
	// Names hang below the axis: the better half to the left, the rest to the right.
	for i, a := range x.Algorithms {
		px := sc.at(x.MeanRanks[i])
		ly := base + 16*float64(i)
		lx, anchor := 8.0, "start"
		if i >= (k+1)/2 {
			lx, anchor = w-8, "end"
			ly = base + 16*float64(k-1-i)
		}
		fmt.Fprintf(&b, `<path class="fit" d="M%.1f %gV%.1fH%.1f"/><circle class="pt" cx="%.1f" cy="%g" r="3"><title>%s</title></circle><text class="tick" x="%.1f" y="%.1f" text-anchor="%s">%s %s</text>`,
			px, axisY, ly, lx, px, axisY, esc(fmt.Sprintf("%s: mean rank %s", a, num(x.MeanRanks[i]))), lx, ly-3, anchor, esc(a), esc(num(x.MeanRanks[i])))
	}
	for gi, g := range x.Groups {
		i0 := slices.Index(x.Algorithms, g[0])
		i1 := slices.Index(x.Algorithms, g[len(g)-1])
		gy := axisY + 10 + 6*float64(gi)
		fmt.Fprintf(&b, `<line class="group" stroke="#333" stroke-width="3" x1="%.1f" y1="%g" x2="%.1f" y2="%g"><title>%s</title></line>`,
			sc.at(x.MeanRanks[i0])-3, gy, sc.at(x.MeanRanks[i1])+3, gy, esc("not significantly different: "+strings.Join(g, ", ")))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}
