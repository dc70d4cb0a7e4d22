package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Tables for people: aligned columns, times in seconds with the 95 % confidence half-width,
// memory in MiB. The JSON documents carry every figure; the tables carry what one reads first.

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

func secs(s *Summary) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", s.Median)
}

func secsCI(s *Summary) string {
	if s == nil {
		return "-"
	}
	if s.N < 2 {
		return fmt.Sprintf("%.4g", s.Median)
	}
	return fmt.Sprintf("%.4g ±%.2g", s.Median, (s.CIHigh-s.CILow)/2)
}

func rate(r float64) string {
	if r <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", r)
}

func outliers(ss ...*Summary) string {
	n := 0
	for _, s := range ss {
		if s != nil {
			n += len(s.Outliers)
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("  outlier runs: %d", n)
}

func header(w io.Writer, h *Header) {
	fmt.Fprintf(w, "%s %s (suite %s), seed %d, %.1f s on %s, %d cores, %s\n", h.Kind, h.Name, h.SuiteID, h.Seed,
		h.DurationSeconds, h.Machine.CPUModel, h.Machine.Cores, h.Machine.GoVersion)
}

// WriteTable writes the benchmark as an aligned table: one row per cell with median fit,
// score and total seconds (total with its confidence half-width), throughput, CPU seconds,
// peak memory and accuracy.
func (d *BenchmarkDoc) WriteTable(w io.Writer) error {
	header(w, &d.Header)
	if d.Distributed {
		d.writeMachines(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	worker := ""
	if d.Distributed {
		worker = "worker\t"
	}
	fmt.Fprintln(tw, "algorithm\trows\tcols\tcont\tstatus\tfit s\tscore s\ttotal s\trows/s\tcpu s\theap MiB\trss MiB\troc_auc\tap\tp@n\t"+worker)
	for _, c := range d.Cells {
		if d.Distributed {
			worker = c.Worker + "\t"
			if c.Worker == "" {
				worker = "-\t"
			}
		}
		auc, ap, pn := "-", "-", "-"
		if c.Accuracy != nil {
			auc, ap, pn = fmt.Sprintf("%.4f", c.Accuracy.ROCAUC), fmt.Sprintf("%.4f", c.Accuracy.AveragePrecision), fmt.Sprintf("%.4f", c.Accuracy.PrecisionAtN)
		}
		heap, rss := "-", "-"
		if c.Memory != nil {
			heap, rss = mib(max(c.Memory.FitPeakHeap, c.Memory.ScorePeakHeap)), mib(c.Memory.PeakRSS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%g\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", c.Algorithm, c.Rows, c.Cols, c.Contamination,
			c.Status, secs(c.Fit), secs(c.Score), secsCI(c.Total), rate(c.Throughput), secs(c.CPU), heap, rss, auc, ap, pn, worker, outliers(c.Total))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range d.Cells {
		if c.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", c.ID, c.Error)
		}
	}
	if len(d.Scalability) > 0 {
		fmt.Fprintln(w, "\nscalability of fit + score over the sizes (wall and CPU seconds):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "algorithm\tcols\tcont\tbasis\tpattern\texponent\tR2\tgrade\tpredicted s at 10x")
		for _, s := range d.Scalability {
			for _, b := range []struct {
				name string
				c    Complexity
			}{{"wall", s.Total}, {"cpu", s.CPU}} {
				fmt.Fprintf(tw, "%s\t%d\t%g\t%s\t%s\n", s.Algorithm, s.Cols, s.Contamination, b.name, growthCells(&b.c))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, s := range d.Scalability {
			if s.Warning != "" {
				fmt.Fprintf(w, "warning: scalability of %s, %d cols, c%g: %s\n", s.Algorithm, s.Cols, s.Contamination, s.Warning)
			}
		}
	}
	if d.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", d.Warning)
	}
	return nil
}

// writeMachines lists the machines a distributed benchmark's cells ran on, and the warning
// when there were several.
func (d *BenchmarkDoc) writeMachines(w io.Writer) {
	for _, m := range d.Machines {
		mm := m.Machine
		fmt.Fprintf(w, "cells on %s (%s, %d cores, GOMAXPROCS %d, %.1f GiB, %s, %s/%s): %d, by %s\n", m.Host, mm.CPUModel, mm.Cores, mm.GOMAXPROCS,
			float64(mm.MemoryBytes)/(1<<30), mm.GoVersion, mm.OS, mm.Arch, m.Cells, strings.Join(m.Workers, ", "))
	}
	if d.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", d.Warning)
	}
}

// growthCells are the table cells of a fitted growth: pattern, exponent, R2, grade and the
// seconds predicted at ten times the largest size.
func growthCells(c *Complexity) string {
	return fmt.Sprintf("%s\t%.2f\t%.3f\t%s\t%.4g", c.Best.Pattern, c.Exponent, c.R2, c.Grade, c.Predicted10x)
}

// WriteTable writes the scalability analysis: one row per size, then the fitted growth of
// fit, score and total time.
func (d *ScalabilityDoc) WriteTable(w io.Writer) error {
	header(w, &d.Header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rows\tstatus\tfit s\tscore s\ttotal s\tcpu s\trows/s\t")
	for _, p := range d.Points {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Rows, p.Status, secs(p.Fit), secs(p.Score), secsCI(p.Total), secs(p.CPU), rate(p.Throughput), outliers(p.Total))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nphase\tpattern\texponent\tR2\tgrade\tpredicted s at 10x")
	for _, f := range []struct {
		name string
		c    *Complexity
	}{{"fit (wall)", d.Fit}, {"score (wall)", d.Score}, {"fit + score (wall)", d.Total}, {"fit + score (cpu)", d.CPU}} {
		if f.c == nil {
			fmt.Fprintf(tw, "%s\t(fewer than 3 sizes finished)\n", f.name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", f.name, growthCells(f.c))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.Pattern != "" {
		fmt.Fprintf(w, "%s scales as %s on %s time (exponent %.2f, R2 %.3f, grade %s); %.4g s predicted at %d rows\n",
			d.Config.Algorithm.Name, d.Pattern, d.Basis, d.Exponent, d.R2, d.Grade, d.Predicted10x, 10*d.LargestRows)
	}
	return nil
}

// WriteTable writes the memory stress test: one row per step, then the per-row figures and
// why the test stopped.
func (d *MemoryDoc) WriteTable(w io.Writer) error {
	header(w, &d.Header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rows\tstatus\tpredicted MiB\trss MiB\tfit heap MiB\tscore heap MiB\tdata MiB\tmodel MiB\tfit s\tscore s\t")
	for _, s := range d.Steps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3g\t%.3g\t\n", s.Rows, s.Status, mib(s.PredictedPeakRSS), mib(s.PeakRSS),
			mib(s.FitPeakHeap), mib(s.ScorePeakHeap), mib(s.DataBytes), mib(s.ModelBytes), s.FitSeconds, s.ScoreSeconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "budget %s MiB (kill line %s MiB); largest size tested %d rows; stopped: %s", mib(d.Config.MaxMemoryBytes()),
		mib(d.KillAtBytes), d.LargestRows, d.StopReason)
	if d.NextRows > 0 {
		fmt.Fprintf(w, " (%d rows predicted at %s MiB)", d.NextRows, mib(d.NextPredictedPeakRSS))
	}
	fmt.Fprintf(w, "\nbytes per row: %.0f held by data and model after fit, %.0f peak during fit, %.0f extra while scoring, %.0f resident\n",
		d.FitBytesPerRow, d.FitPeakBytesPerRow, d.ScoreBytesPerRow, d.RSSBytesPerRow)
	if d.Growth != nil {
		fmt.Fprintf(w, "memory growth: %s (exponent %.2f, R2 %.3f)\n", d.GrowthClass, d.Growth.Exponent, d.Growth.R2)
	}
	return nil
}

// WriteTable writes the comparison: algorithms by rank with accuracy and time, the Pareto
// front, and the pairwise significance of time differences.
func (d *CompareDoc) WriteTable(w io.Writer) error {
	header(w, &d.Header)
	fmt.Fprintf(w, "%s: %d rows x %d columns, %d anomalies\n", d.Config.Dataset, d.Rows, d.Cols, d.Anomalies)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\talgorithm\tstatus\troc_auc\tap\tp@n\tfit s\tscore s\ttotal s\trows/s\tpareto\t")
	order := make([]CompareEntry, 0, len(d.Entries))
	for r := 1; r <= len(d.Entries); r++ {
		for _, e := range d.Entries {
			if e.Rank == r {
				order = append(order, e)
			}
		}
	}
	for _, e := range d.Entries {
		if e.Rank == 0 {
			order = append(order, e)
		}
	}
	for _, e := range order {
		auc, ap, pn := "-", "-", "-"
		if e.Accuracy != nil {
			auc, ap, pn = fmt.Sprintf("%.4f", e.Accuracy.ROCAUC), fmt.Sprintf("%.4f", e.Accuracy.AveragePrecision), fmt.Sprintf("%.4f", e.Accuracy.PrecisionAtN)
		}
		pareto := ""
		if e.Pareto {
			pareto = "*"
		}
		rank := "-"
		if e.Rank > 0 {
			rank = fmt.Sprint(e.Rank)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", rank, e.Algorithm, e.Status, auc, ap, pn,
			secs(e.Fit), secs(e.Score), secsCI(e.Total), rate(e.Throughput), pareto)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Pareto front (accuracy vs time, fastest first): %s\n", strings.Join(d.ParetoFront, ", "))
	if len(d.Pairs) == 0 {
		return nil
	}
	fmt.Fprintf(w, "time differences (Mann-Whitney U, significant at p < %.2g):\n", 1-d.Config.Confidence)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range d.Pairs {
		verdict := "not significant"
		if p.Significant {
			verdict = "significant"
		}
		fmt.Fprintf(tw, "  %s vs %s\t%s %.2fx faster\tU=%g\tp=%.4f\t%s\n", p.A, p.B, p.Faster, p.Ratio, p.U, p.P, verdict)
	}
	return tw.Flush()
}
