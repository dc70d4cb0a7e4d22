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
		[]float64{27, 24, 22, 20, 16, 13, 31, 12, 15}, []bool{false, false, false, false, true, true, false, true, true}, rows)
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
			before = pdfTuneFigures(t.Before)
		}
		if t.After != nil {
			after = pdfTuneFigures(t.After)
		}
		if t.Applied {
			applied = "yes"
		}
		rows = append(rows, []string{pdfWhen(t.CreatedAt), t.Mode, t.Target, target, before, after, applied})
	}
	d.table([]string{"run", "mode", "target", "p99 target", "before", "after", "applied"},
		[]float64{27, 14, 25, 17, 42, 42, 13}, []bool{false, false, false, true, false, false, false}, rows)
	for _, t := range r.TuneRuns {
		why := t.Note
		if t.Truncated {
			why += " (the budget ended the search early)"
		}
		d.para(fmt.Sprintf("%s (%s, %s): setting chosen: %s; %s", t.SuiteID, t.Mode, t.Target, settingOr(t.Setting), why))
	}
}

func settingOr(s string) string {
	if s == "" {
		return "no setting chosen"
	}
	return s
}

// pdfTuneFigures is a tune setting's figures, short enough for the PDF's table.
func pdfTuneFigures(f *TuneFigures) string {
	if f.Seconds > 0 || f.RowsPerSecond > 0 {
		return fmt.Sprintf("%s s, %s rows/s", num(f.Seconds), num(f.RowsPerSecond))
	}
	return fmt.Sprintf("%s/s p50 %.3gms p99 %.3gms", num(f.Throughput), 1e3*f.P50Seconds, 1e3*f.P99Seconds)
}
