package report

import (
	"fmt"
	"slices"
	"strings"
)

// searches writes the parameter searches' section.
func (d *pdfDoc) searches() {
	r := d.r
	d.h2("Parameter searches", 20)
	if len(r.Searches) == 0 {
		d.para("No parameter searches stored in the period.")
		return
	}
	var rows [][]string
	for _, s := range r.Searches {
		names := make([]string, 0, len(s.BestParameters))
		for k := range s.BestParameters {
			names = append(names, k)
		}
		slices.Sort(names)
		ps := make([]string, 0, len(names))
		for _, k := range names {
			ps = append(ps, k+"="+s.BestParameters[k])
		}
		def := "not tried"
		if s.DefaultValue != nil {
			def = num(*s.DefaultValue)
		}
		rows = append(rows, []string{pdfWhen(s.CreatedAt), s.Algorithm, s.Dataset, s.Metric, fmt.Sprintf("%d / %d", s.OK, s.Failed),
			pdfOpt(s.BestValue), strings.Join(ps, " "), pdfOpt(s.Gap), def})
	}
	d.table([]string{"run", "algorithm", "dataset", "metric", "ok / failed", "best", "best parameters", "gap", "defaults"},
		[]float64{27, 22, 20, 18, 16, 13, 39, 12, 13}, []bool{false, false, false, false, true, true, false, true, true}, rows)
	d.para(fmt.Sprintf("Trials are ranked by the search's metric, fitted and scored on the same labelled rows; \"defaults\" is the trial with the algorithm's default parameters, when the search ran it. At most %d searches are listed (the newest).", MaxSearches))
}

// tuneRuns writes the tuning runs' section.
func (d *pdfDoc) tuneRuns() {
	r := d.r
	d.h2("Tuning runs", 20)
	if len(r.TuneRuns) == 0 {
		d.para("No tuning runs stored in the period.")
		return
	}
	var rows [][]string
	for _, t := range r.TuneRuns {
		target, before, after, applied := "", "", "", "no"
		if t.TargetP99Seconds > 0 {
			target = pdfMS(t.TargetP99Seconds)
		}
		if t.Before != nil {
			before = tuneFigures(t.Before)
		}
		if t.After != nil {
			after = tuneFigures(t.After)
		}
		if t.Applied {
			applied = "yes"
		}
		rows = append(rows, []string{pdfWhen(t.CreatedAt), t.Mode, t.Target, target, before, after, t.Setting, applied})
	}
	d.table([]string{"run", "mode", "target", "p99 target", "before", "after", "setting chosen", "applied"},
		[]float64{25, 12, 22, 14, 36, 36, 25, 10}, []bool{false, false, false, true, false, false, false, false}, rows)
	for _, t := range r.TuneRuns {
		why := t.Note
		if t.Truncated {
			why += " (the budget ended the search early)"
		}
		d.para(fmt.Sprintf("%s (%s, %s): %s; %s", t.SuiteID, t.Mode, t.Target, settingOr(t.Setting), why))
	}
}

func settingOr(s string) string {
	if s == "" {
		return "no setting chosen"
	}
	return s
}
