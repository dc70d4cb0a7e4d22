package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

type reportFlags struct {
	timePeriod, since, until string
	format, output, database string
}

func newReportCmd() *cobra.Command {
	f := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a performance report of a period from what the store holds",
		Long: `report reads what the store holds for a period (the figures a service's monitor stored every
minute, its alerts, and the runs of benchmark, scalability, memory and compare) and writes a
report: an executive summary (overall health, headline figures against the period of the same
length before), recommendations, trends of the service's latency, throughput, errors and
resources, operations, alerts, model health, benchmark results, algorithm comparisons,
scalability curves with their fitted growth and the time predicted at ten times the rows, and
memory stress results.

The period is the last --time-period (24h, 7d, 30d, or any Go duration) up to now, or
--since/--until (RFC 3339 times or dates, UTC). --format json writes the report model
(docs/report-json.md); html one self-contained page with inline SVG charts; pdf an A4 document
with the same sections, tables and charts. The report goes to --output, or to stdout.`,
		Example: `  gonomaly performance report --time-period 7d --format html --output report.html
  gonomaly performance report --time-period 30d --format pdf --output report.pdf
  gonomaly perf report --since 2026-11-01 --until 2026-11-08 --format json
  gonomaly performance report --time-period 24h --format json --database postgres://postgres@127.0.0.1:5432/test`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd, f, time.Now()) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.timePeriod, "time-period", "7d", "the period up to now (or up to --until): 24h, 7d, 30d, or a duration such as 36h")
	fl.StringVar(&f.since, "since", "", "start of the period (RFC 3339 time or YYYY-MM-DD, UTC); instead of --time-period")
	fl.StringVar(&f.until, "until", "", "end of the period (RFC 3339 time or YYYY-MM-DD, UTC; default now)")
	fl.StringVar(&f.format, "format", "html", "json, html or pdf")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file (default stdout)")
	fl.StringVar(&f.database, "database", "", "the store to read (sqlite:FILE or postgres://...; default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db)")
	return cmd
}

func runReport(cmd *cobra.Command, f *reportFlags, now time.Time) error {
	var write func(*bytes.Buffer, *report.Report) error
	switch f.format {
	case "json":
		write = func(b *bytes.Buffer, r *report.Report) error { return report.WriteJSON(b, r) }
	case "html":
		write = func(b *bytes.Buffer, r *report.Report) error { return report.WriteHTML(b, r) }
	case "pdf":
		write = func(b *bytes.Buffer, r *report.Report) error { return report.WritePDF(b, r) }
	default:
		return usagef("--format %q: want json, html or pdf", f.format)
	}
	p, err := f.period(cmd, now)
	if err != nil {
		return err
	}
	url := f.database
	if url == "" {
		url = store.DefaultURL()
	}
	ctx := cmd.Context()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer st.Close()
	r, err := report.Build(ctx, st, p)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := write(&b, r); err != nil {
		return err
	}
	if f.output != "" {
		if err := writeFileAtomic(f.output, b.Bytes()); err != nil {
			return fmt.Errorf("output: %w", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "report of %s to %s (%s): %s, %d bytes\n", p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339),
			r.Summary.Health, f.output, b.Len())
		return nil
	}
	_, err = cmd.OutOrStdout().Write(b.Bytes())
	return err
}

// period turns the flags into the report's period.
func (f *reportFlags) period(cmd *cobra.Command, now time.Time) (report.Period, error) {
	if f.since != "" && cmd.Flags().Changed("time-period") {
		return report.Period{}, usagef("--since and --time-period: give one (--until may go with either)")
	}
	until := now.UTC()
	if f.until != "" {
		t, err := parseWhen(f.until)
		if err != nil {
			return report.Period{}, usagef("--until %q: %v", f.until, err)
		}
		until = t
	}
	var since time.Time
	if f.since != "" {
		t, err := parseWhen(f.since)
		if err != nil {
			return report.Period{}, usagef("--since %q: %v", f.since, err)
		}
		since = t
	} else {
		d, err := parsePeriod(f.timePeriod)
		if err != nil {
			return report.Period{}, usagef("--time-period %q: %v", f.timePeriod, err)
		}
		since = until.Add(-d)
	}
	if !since.Before(until) {
		return report.Period{}, usagef("the period from %s to %s is empty: --since must come before --until", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return report.Period{Since: since, Until: until}, nil
}

// parsePeriod reads a period length: Nd (days), Nw (weeks) or a Go duration (24h, 90m).
func parsePeriod(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 3660 {
			return 0, fmt.Errorf("want a whole number of days from 1 to 3660, such as 7d")
		}
		d = time.Duration(v) * 24 * time.Hour
	} else if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 520 {
			return 0, fmt.Errorf("want a whole number of weeks from 1 to 520, such as 2w")
		}
		d = time.Duration(v) * 7 * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("want 24h, 7d, 30d or a duration such as 36h")
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

// parseWhen reads an RFC 3339 time or a date (midnight UTC).
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-11-16T08:00:00Z) or a date (2026-11-16)")
}
