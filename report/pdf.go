package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Page geometry of the PDF, in millimetres (A4 portrait).
const (
	pdfMargin = 15.0
	pdfChartW = 180.0
	pdfChartH = 62.0
)

// pdfDoc writes one report as a PDF: the HTML page's sections and tables, in the same order,
// with the charts drawn with the PDF's own lines from the same figures.
type pdfDoc struct {
	f  *fpdf.Fpdf
	tr func(string) string
	r  *Report
}

// WritePDF renders the report as an A4 PDF: the same sections, tables and charts as
// WriteHTML, text in the PDF's standard Helvetica (characters outside Windows-1252 show as
// a dot).
func WritePDF(w io.Writer, r *Report) error {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfMargin)
	f.SetCreationDate(r.GeneratedAt)
	f.SetModificationDate(r.GeneratedAt)
	f.SetCatalogSort(true)
	title := "gonomaly performance report " + pdfWhen(r.Period.Since) + " to " + pdfWhen(r.Period.Until)
	f.SetTitle(title, true)
	f.SetCreator("gonomaly", true)
	d := &pdfDoc{f: f, tr: f.UnicodeTranslatorFromDescriptor(""), r: r}
	f.SetFooterFunc(func() {
		f.SetY(-10)
		f.SetFont("Helvetica", "", 8)
		f.SetTextColor(110, 110, 110)
		f.CellFormat(0, 5, d.text(fmt.Sprintf("gonomaly performance report, %s to %s, page %d", pdfWhen(r.Period.Since), pdfWhen(r.Period.Until), f.PageNo())), "", 0, "C", false, 0, "")
	})
	f.AddPage()
	d.write()
	if err := f.Error(); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	return nil
}

func pdfWhen(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

// text makes s printable in the core fonts: control characters become spaces, and the rest
// Windows-1252.
func (d *pdfDoc) text(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return d.tr(s)
}

func (d *pdfDoc) font(style string, size float64) { d.f.SetFont("Helvetica", style, size) }

func (d *pdfDoc) h1(s string) {
	d.font("B", 18)
	d.f.SetTextColor(34, 34, 34)
	d.f.MultiCell(0, 9, d.text(s), "", "L", false)
}

// h2 starts a section, on a new page when less than need millimetres are left.
func (d *pdfDoc) h2(s string, need float64) {
	d.room(12 + need)
	d.f.Ln(4)
	d.font("B", 14)
	d.f.SetTextColor(34, 34, 34)
	d.f.CellFormat(0, 8, d.text(s), "B", 1, "L", false, 0, "")
	d.f.Ln(2)
}

func (d *pdfDoc) h3(s string) {
	d.room(8)
	d.font("B", 11)
	d.f.SetTextColor(34, 34, 34)
	d.f.MultiCell(0, 6, d.text(s), "", "L", false)
}

func (d *pdfDoc) para(s string) {
	d.font("", 9.5)
	d.f.SetTextColor(34, 34, 34)
	d.f.MultiCell(0, 4.6, d.text(s), "", "L", false)
	d.f.Ln(1)
}

// room starts a new page when less than h millimetres are left on this one.
func (d *pdfDoc) room(h float64) {
	_, ph := d.f.GetPageSize()
	if d.f.GetY()+h > ph-pdfMargin-6 {
		d.f.AddPage()
	}
}

// fit cuts s to width w (mm) at the current font, ending it with "..." when cut.
func (d *pdfDoc) fit(s string, w float64) string {
	if d.f.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && d.f.GetStringWidth(string(r)+"...") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "..."
}

// table draws a table of the given column widths (mm); numeric columns are right aligned.
// The header repeats on each new page.
func (d *pdfDoc) table(head []string, widths []float64, numeric []bool, rows [][]string) {
	const rh = 5.2
	header := func() {
		d.font("B", 8.5)
		d.f.SetFillColor(238, 238, 238)
		d.f.SetTextColor(34, 34, 34)
		d.f.SetDrawColor(200, 200, 200)
		for i, h := range head {
			d.f.CellFormat(widths[i], rh, d.fit(d.text(h), widths[i]-2), "1", 0, "L", true, 0, "")
		}
		d.f.Ln(-1)
	}
	d.room(2 * rh)
	header()
	for _, row := range rows {
		_, ph := d.f.GetPageSize()
		if d.f.GetY()+rh > ph-pdfMargin-6 {
			d.f.AddPage()
			header()
		}
		d.font("", 8.5)
		for i, c := range row {
			align := "L"
			if i < len(numeric) && numeric[i] {
				align = "R"
			}
			d.f.CellFormat(widths[i], rh, d.fit(d.text(c), widths[i]-2), "1", 0, align, false, 0, "")
		}
		d.f.Ln(-1)
	}
	d.f.Ln(2)
}

func pdfOpt(p *float64) string {
	if p == nil {
		return "-"
	}
	return num(*p)
}

func pdfSigned(p *float64) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%+.1f %%", *p)
}

func pdfPct(v float64) string { return fmt.Sprintf("%.2f %%", 100*v) }
func pdfMS(v float64) string  { return fmt.Sprintf("%.3g ms", 1e3*v) }

func (d *pdfDoc) write() {
	r := d.r
	d.h1("gonomaly performance report")
	d.para(fmt.Sprintf("%s to %s, compared with %s to %s. Report model version %d, generated %s.",
		pdfWhen(r.Period.Since), pdfWhen(r.Period.Until), pdfWhen(r.Previous.Since), pdfWhen(r.Previous.Until), r.Version, pdfWhen(r.GeneratedAt)))

	d.h2("Executive summary", 30)
	d.health(r.Summary.Health)
	for _, s := range r.Summary.Reasons {
		d.para("- " + s)
	}
	var rows [][]string
	for _, h := range r.Summary.Headlines {
		name := h.Name
		if h.Unit != "" {
			name += " (" + h.Unit + ")"
		}
		rows = append(rows, []string{name, pdfOpt(h.Value), pdfOpt(h.Previous), strings.TrimSpace(h.Change + " " + pdfSigned(h.ChangePercent))})
	}
	d.table([]string{"figure", "this period", "previous period", "change"}, []float64{80, 30, 35, 35}, []bool{false, true, true, false}, rows)

	d.h2("Recommendations", 10)
	if len(r.Recommendations) == 0 {
		d.para("Nothing to do.")
	}
	for i, rec := range r.Recommendations {
		d.para(fmt.Sprintf("%d. [%s] %s (%s): %s", i+1, rec.Severity, rec.Subject, rec.Source, rec.Text))
		for _, a := range rec.Actions {
			d.para("      - " + a)
		}
	}

	d.h2("Trends", 20+pdfChartH)
	if len(r.Series) == 0 {
		d.para("No samples stored in the period.")
	}
	for i, s := range r.Series {
		if i > 0 {
			d.room(20 + pdfChartH)
		}
		name := s.Name
		if s.Unit != "" {
			name += " (" + s.Unit + ")"
		}
		d.h3(name)
		d.para(fmt.Sprintf("%d samples, %d points charted; min %s, mean %s, max %s. Trend: %s, strength %s (p = %s), %s an hour. %s",
			s.Samples, len(s.Points), num(s.Min), num(s.Mean), num(s.Max), s.Trend.Direction, num(s.Trend.Strength), num(s.Trend.P), num(s.Trend.SlopePerHour), s.Trend.Recommendation))
		d.seriesChart(s)
	}

	d.h2("Operations", 15)
	if len(r.Operations) == 0 {
		d.para("No operation summaries stored in the period.")
	} else {
		rows = rows[:0]
		for _, o := range r.Operations {
			alloc := ""
			if o.MeanAllocBytes != 0 {
				alloc = num(o.MeanAllocBytes) + " B"
			}
			rows = append(rows, []string{o.Name, fmt.Sprint(o.Samples), num(o.PerSecond), pdfPct(o.ErrorRate), opPercentile(o, 50), opPercentile(o, 95),
				pdfMS(o.P99Seconds), pdfMS(o.P99MaxSeconds), alloc})
		}
		d.table([]string{"operation", "minutes", "per second", "error rate", "p50", "p95", "p99", "worst p99", "alloc / call"},
			[]float64{46, 14, 18, 18, 16, 16, 16, 18, 18}, []bool{false, true, true, true, true, true, true, true, true}, rows)
		d.para("p50, p95 and p99 are the median minute's (the monitor stores these three percentiles of each minute, no histogram; p50 and p95 are read from a sample of up to 120 minutes spread over the period).")
		if ops := latencyCurves(r.Operations); len(ops) > 0 {
			d.room(8 + pdfChartH)
			d.h3("Latency percentiles of the main operations (median minute)")
			d.pctChart(opLines(ops))
		}
	}

	d.h2("Alerts", 15)
	line := fmt.Sprintf("%d raised, %d carried over from before the period, %d still active at the end.", r.Alerts.Total, len(r.Alerts.CarriedOver), r.Alerts.Active)
	for _, k := range slices.Sorted(maps.Keys(r.Alerts.BySeverity)) {
		line += fmt.Sprintf(" %s: %d.", k, r.Alerts.BySeverity[k])
	}
	d.para(line)
	alertRows := func(items []Alert) {
		rows = rows[:0]
		for _, a := range items {
			res := "active"
			if a.ResolvedAt != nil {
				res = pdfWhen(*a.ResolvedAt)
			}
			rows = append(rows, []string{pdfWhen(a.Time), res, a.Severity, a.Rule, a.Title, num(a.Value), num(a.Threshold)})
		}
		d.table([]string{"raised", "resolved", "severity", "rule", "title", "value", "threshold"},
			[]float64{27, 27, 15, 28, 49, 17, 17}, []bool{false, false, false, false, false, true, true}, rows)
	}
	if len(r.Alerts.Items) > 0 {
		alertRows(r.Alerts.Items)
	}
	if len(r.Alerts.CarriedOver) > 0 {
		d.h3("Raised before the period, still active at its start")
		alertRows(r.Alerts.CarriedOver)
	}

	d.h2("Model health", 15)
	if len(r.Models) == 0 {
		d.para("No model health stored in the period.")
	} else {
		rows = rows[:0]
		for _, m := range r.Models {
			rows = append(rows, []string{m.Detector, m.Status, fmt.Sprint(m.Rows), pdfPct(m.AnomalyRate), pdfPct(m.ExpectedRate), num(m.RateP), num(m.ScorePSI), num(m.ScorePSIMax), num(m.ScoreKSP)})
		}
		d.table([]string{"detector", "status", "rows", "flagged", "expected", "rate p", "score PSI", "worst PSI", "KS p"},
			[]float64{40, 18, 18, 17, 17, 17, 18, 18, 17}, []bool{false, false, true, true, true, true, true, true, true}, rows)
	}

	d.h2("Benchmark results", 20+pdfChartH)
	if len(r.Benchmarks) == 0 {
		d.para("No benchmark runs stored in the period.")
	}
	for i, b := range r.Benchmarks {
		if i > 0 {
			d.room(20 + pdfChartH)
		}
		d.h3(fmt.Sprintf("%s (%s, %s)", b.Name, b.SuiteID, pdfWhen(b.CreatedAt)))
		d.para("Median total (fit + score) seconds per cell, with the 95 % confidence interval of the mean.")
		var bars []bar
		for _, c := range b.Cells {
			if c.Seconds > 0 {
				bars = append(bars, bar{label: fmt.Sprintf("%s %d", abbrev(c.Algorithm), c.Rows), v: c.Seconds, lo: c.CILow, hi: c.CIHigh, errorBarsKnown: true})
			}
		}
		d.barChart(bars)
		rows = rows[:0]
		for _, c := range b.Cells {
			rows = append(rows, []string{c.ID, c.Status, num(c.Seconds), num(c.CILow) + " to " + num(c.CIHigh), num(c.Throughput), pdfOpt(c.ROCAUC)})
		}
		d.table([]string{"cell", "status", "median s", "95 % CI", "rows/s", "ROC-AUC"}, []float64{62, 18, 20, 34, 24, 22},
			[]bool{false, false, true, true, true, true}, rows)
	}

	d.h2("Algorithm comparison", 20+pdfChartH)
	if len(r.Comparisons) == 0 {
		d.para("No comparisons stored in the period.")
	}
	for i, c := range r.Comparisons {
		if i > 0 {
			d.room(20 + pdfChartH)
		}
		d.h3(fmt.Sprintf("%s (%d rows x %d, %s)", c.Dataset, c.Rows, c.Cols, c.SuiteID))
		var bars []bar
		for _, a := range c.Algorithms {
			if a.Seconds > 0 {
				bars = append(bars, bar{label: abbrev(a.Algorithm), v: a.Seconds, lo: a.CILow, hi: a.CIHigh, errorBarsKnown: true, emphasise: a.Pareto})
			}
		}
		d.barChart(bars)
		rows = rows[:0]
		for _, a := range c.Algorithms {
			pareto := ""
			if a.Pareto {
				pareto = "yes"
			}
			rows = append(rows, []string{fmt.Sprint(a.Rank), a.Algorithm, a.Status, pdfOpt(a.ROCAUC), pdfOpt(a.AveragePrecision), num(a.Seconds), num(a.Throughput), pareto})
		}
		d.table([]string{"rank", "algorithm", "status", "ROC-AUC", "AP", "median s", "rows/s", "Pareto"}, []float64{12, 46, 18, 20, 20, 22, 24, 18},
			[]bool{true, false, false, true, true, true, true, false}, rows)
		for _, s := range c.Significant {
			d.para(fmt.Sprintf("%s is %sx faster than %s (Mann-Whitney p = %s).", s.Faster, num(s.Ratio), s.Slower, num(s.P)))
		}
	}

	if x := r.Datasets; x != nil {
		d.h2("Comparison across datasets", 20)
		line := "ROC-AUC of each algorithm on each dataset (its newest comparison), ranked within each dataset (1 = best). Friedman test: "
		if x.Chi2 != nil {
			line += "chi2 = " + pdfOpt(x.Chi2) + ", p = " + pdfOpt(x.P) + "."
		} else {
			line += "undefined (every dataset ties every algorithm)."
		}
		if x.CriticalDifference != nil {
			line += " Nemenyi critical difference at 0.05: " + pdfOpt(x.CriticalDifference) + "."
		}
		d.para(line)
		d.cdChart(x)
		if n := len(x.Algorithms); n > 0 {
			head := append([]string{"dataset"}, x.Algorithms...)
			w := make([]float64, n+1)
			w[0] = 180 - 160*float64(n)/float64(n+1)
			numeric := make([]bool, n+1)
			for i := 1; i <= n; i++ {
				w[i], numeric[i] = (180-w[0])/float64(n), true
			}
			rows = rows[:0]
			for _, ds := range x.Datasets {
				row := []string{ds.Dataset}
				for i := range n {
					v := "-"
					if i < len(ds.Scores) {
						v = num(ds.Scores[i])
					}
					row = append(row, v)
				}
				rows = append(rows, row)
			}
			row := []string{"mean rank"}
			for i := range n {
				v := "-"
				if i < len(x.MeanRanks) {
					v = num(x.MeanRanks[i])
				}
				row = append(row, v)
			}
			secs := []string{"median s"}
			for i := range n {
				v := "-"
				if i < len(x.Seconds) {
					v = num(x.Seconds[i])
				}
				secs = append(secs, v)
			}
			d.table(head, w, numeric, append(rows, row, secs))
		}
		d.para("Recommendation (" + x.Recommendation.Rule + "): " + x.Recommendation.Text + ".")
	}

	d.h2("Performance by version", 15)
	v := r.Versions
	if len(v.Builds) == 0 {
		d.para("No benchmark runs stored in the period.")
	} else {
		rows = rows[:0]
		for _, b := range v.Builds {
			rows = append(rows, []string{b.Build, b.GonomalyVersion, fmt.Sprint(b.Runs), pdfWhen(b.Newest)})
		}
		d.table([]string{"build", "version", "benchmark runs", "newest run"}, []float64{60, 50, 30, 40}, []bool{false, false, true, false}, rows)
		if v.New != "" {
			d.para(fmt.Sprintf("Cells of %s against %s: median total seconds over the iterations of each build's runs (a run stored without its iterations counts its median once). A change is a regression or an improvement only when Mann-Whitney's p is below 0.05; \"~\" otherwise.", v.New, v.Old))
			rows = rows[:0]
			mixed := 0
			for _, c := range v.Cells {
				rows = append(rows, []string{c.Algorithm, fmt.Sprint(c.Rows), fmt.Sprint(c.Cols), num(c.Contamination),
					fmt.Sprintf("%s (%d)", num(c.OldSeconds), c.OldN), fmt.Sprintf("%s (%d)", num(c.NewSeconds), c.NewN),
					c.Samples, fmt.Sprintf("%+.1f %%", c.ChangePercent), pdfOpt(c.P), c.Verdict})
				if c.Warning != "" {
					rows[len(rows)-1][9] += " *"
					mixed = max(mixed, c.Machines)
				}
			}
			d.table([]string{"algorithm", "rows", "cols", "contam.", "old s (n)", "new s (n)", "samples", "change", "p", "verdict"},
				[]float64{30, 13, 10, 14, 22, 22, 20, 17, 14, 18}, []bool{false, true, true, true, true, true, false, true, true, false}, rows)
			if mixed > 1 {
				d.para(fmt.Sprintf("* The cell's samples were measured on more than one machine (up to %d): timings are not comparable across them.", mixed))
			}
		} else {
			d.para("One build measured in the period: nothing to compare.")
		}
	}

	d.h2("Scalability", 20+pdfChartH)
	if len(r.Scalability) == 0 {
		d.para("No scalability curves stored in the period.")
	}
	for i, c := range r.Scalability {
		if i > 0 {
			d.room(20 + pdfChartH)
		}
		d.h3(fmt.Sprintf("%s (%s %s, %d columns)", c.Algorithm, c.Source, c.SuiteID, c.Cols))
		d.para(fmt.Sprintf("Grows as %s (log-log exponent %s, R2 %s, grade %s); predicted %s %s seconds at %d rows (ten times the largest measured).",
			c.Pattern, num(c.Exponent), num(c.R2), c.Grade, num(c.Predicted10x), c.Basis, 10*c.LargestRows))
		d.curveChart(c)
	}

	d.h2("Memory stress", 20+pdfChartH)
	if len(r.Memory) == 0 {
		d.para("No memory tests stored in the period.")
	}
	for i, m := range r.Memory {
		if i > 0 {
			d.room(20 + pdfChartH)
		}
		d.h3(fmt.Sprintf("%s (%s)", m.Algorithm, m.SuiteID))
		growth := ""
		if m.GrowthClass != "" {
			growth = ", growth " + m.GrowthClass
		}
		d.para(fmt.Sprintf("Stopped: %s; largest size that finished %d rows; %s bytes of resident memory per row (%s of peak heap in fit)%s; kill line %.1f MB.",
			m.StopReason, m.LargestRows, num(m.RSSBytesPerRow), num(m.FitPeakBytesPerRow), growth, float64(m.KillAtBytes)/1e6))
		d.memoryChart(m)
	}

	d.loadTests()
	d.searches()
	d.tuneRuns()

	if len(r.Skipped) > 0 {
		d.h2("Unreadable documents", 10)
		for _, s := range r.Skipped {
			d.para(fmt.Sprintf("- %s %s: %s", s.Kind, s.ID, s.Reason))
		}
	}
}

// health draws the health badge.
func (d *pdfDoc) health(h string) {
	c := map[string][3]int{HealthHealthy: {46, 125, 50}, HealthDegraded: {239, 108, 0}, HealthCritical: {198, 40, 40}}[h]
	if c == [3]int{} {
		c = [3]int{119, 119, 119}
	}
	d.font("B", 11)
	d.f.SetFillColor(c[0], c[1], c[2])
	d.f.SetTextColor(255, 255, 255)
	d.f.CellFormat(d.f.GetStringWidth(h)+8, 7, d.text(h), "", 1, "C", true, 0, "")
	d.f.Ln(2)
}

// loadTests writes the load tests' section: the runs' table, the newest curve and histogram,
// and each ramp's steps.
func (d *pdfDoc) loadTests() {
	r := d.r
	d.h2("Load tests", 20)
	if len(r.LoadTests) == 0 {
		d.para("No load tests stored in the period.")
		return
	}
	var rows [][]string
	for _, lt := range r.LoadTests {
		rate := fmt.Sprint(lt.Concurrency)
		if lt.Rate > 0 {
			rate = num(lt.Rate) + "/s"
		}
		rows = append(rows, []string{pdfWhen(lt.CreatedAt), lt.Endpoint, lt.Type, lt.Model, rate, fmt.Sprint(lt.Requests), num(lt.Throughput),
			pdfPct(lt.SuccessRate), pdfMS(lt.P50Seconds), pdfMS(lt.P99Seconds), pdfMS(lt.MaxSeconds), micros(lt.GeneratorCPUPerRequest)})
	}
	d.table([]string{"run", "endpoint", "type", "model", "rate/clients", "requests", "per s", "success", "p50", "p99", "max", "gen. CPU"},
		[]float64{34, 16, 10, 11, 19, 16, 10, 14, 11, 11, 11, 17}, []bool{false, false, false, false, true, true, true, true, true, true, true, true}, rows)
	d.para("A ramp's figures are its best step's (the highest rate that held its target), else its last step's; a training stress test's are its jobs'. " +
		"gen. CPU: the load generator's CPU a request, not the service's where the two shared a machine.")
	if lt := newestCurve(r.LoadTests); lt != nil {
		d.room(8 + pdfChartH)
		d.h3(fmt.Sprintf("Newest: %s (%s, %s)", lt.SuiteID, lt.Type, lt.Endpoint))
		if len(lt.Percentiles) > 0 {
			d.pctChart([]pctLine{loadLine(lt)})
		}
		if len(lt.Histogram) > 0 {
			d.room(pdfChartH + 2)
			bars := loadBars(lt)
			for i := range bars {
				bars[i].label = strings.ReplaceAll(bars[i].label, "≤", "<=") // not in Windows-1252
			}
			d.barChartUnit("requests", bars)
		}
	}
	for _, lt := range r.LoadTests {
		rp := lt.Ramp
		if rp == nil {
			continue
		}
		d.h3(fmt.Sprintf("Ramp %s: best rate %s/s (p99 target %s, success at least %s; stopped: %s)", lt.SuiteID, num(rp.BestRate),
			pdfMS(rp.P99TargetSeconds), pdfPct(rp.MinSuccessRate), rp.StopReason))
		rows = rows[:0]
		for _, s := range rp.Steps {
			held := "no"
			if s.Pass {
				held = "yes"
			}
			rows = append(rows, []string{num(s.Rate), held, num(s.Throughput), pdfPct(s.SuccessRate), pdfMS(s.P99Seconds), s.Reason})
		}
		d.table([]string{"rate /s", "held", "per s", "success", "p99", "why not"}, []float64{22, 14, 22, 22, 22, 78},
			[]bool{true, false, true, true, true, false}, rows)
	}
}
