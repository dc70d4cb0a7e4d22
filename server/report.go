package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/report"
)

// maxReportPeriod is the longest period GET /performance/report covers: reading a period's
// samples is most of a report's time, and 90 days of one-minute samples is what a request
// may cost.
const maxReportPeriod = 90 * 24 * time.Hour

// reportFormats are the formats of GET /performance/report: content type, file extension
// and writer.
var reportFormats = map[string]struct {
	contentType, ext string
	attachment       bool
	write            func(*bytes.Buffer, *report.Report) error
}{
	"json": {"application/json", "json", false, func(b *bytes.Buffer, r *report.Report) error { return report.WriteJSON(b, r) }},
	"html": {"text/html; charset=utf-8", "html", false, func(b *bytes.Buffer, r *report.Report) error { return report.WriteHTML(b, r) }},
	"pdf":  {"application/pdf", "pdf", true, func(b *bytes.Buffer, r *report.Report) error { return report.WritePDF(b, r) }},
}

// performanceReport answers GET /performance/report?period=7d&format=html|json|pdf (or
// since/until, RFC 3339): the report of docs/report-json.md over the server's store.
func (s *Server) performanceReport(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	name := q.Get("format")
	if name == "" {
		name = "html"
	}
	f, ok := reportFormats[name]
	if !ok {
		return errorf(http.StatusBadRequest, CodeBadRequest, "format=%q: want html, json or pdf", truncate(name, 32))
	}
	p, e := reportPeriod(q.Get("period"), q.Get("since"), q.Get("until"), time.Now())
	if e != nil {
		return e
	}
	rep, err := report.Build(r.Context(), s.store, p)
	if err != nil {
		if errors.Is(err, report.ErrPeriod) {
			return errorf(http.StatusBadRequest, CodeBadRequest, "%s", plain(err))
		}
		return toAPI(err)
	}
	var b bytes.Buffer
	if err := renderReport(&b, f.write, rep); err != nil {
		return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Msg: "internal error", Cause: err}
	}
	if err := r.Context().Err(); err != nil {
		return toAPI(err)
	}
	file := fmt.Sprintf("gonomaly-report-%s-%s.%s", p.Since.UTC().Format("20060102T1504Z"), p.Until.UTC().Format("20060102T1504Z"), f.ext)
	disp := "inline"
	if f.attachment {
		disp = "attachment"
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Disposition", disp+`; filename="`+file+`"`)
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if name == "html" {
		// The page is self-contained: inline styles and SVG, no script, nothing fetched.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes()) // the client went away: nothing to do
	return nil
}

// renderReport writes rep with write, turning a panic of a renderer (data it did not expect)
// into an error.
func renderReport(b *bytes.Buffer, write func(*bytes.Buffer, *report.Report) error, rep *report.Report) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("report: rendering panicked: %v", v)
		}
	}()
	return write(b, rep)
}

// reportPeriod reads the period of a report: period (24h, 7d, 2w or a Go duration, default
// 7d) up to until (default now), or since..until; at most maxReportPeriod.
func reportPeriod(period, since, until string, now time.Time) (report.Period, *apiError) {
	if period != "" && since != "" {
		return report.Period{}, errorf(http.StatusBadRequest, CodeBadRequest, "period and since: give one (until may go with either)")
	}
	end := now.UTC()
	if until != "" {
		t, err := time.Parse(time.RFC3339Nano, until)
		if err != nil {
			return report.Period{}, errorf(http.StatusBadRequest, CodeBadRequest, "until=%q: want an RFC 3339 time", truncate(until, 64))
		}
		end = t.UTC()
	}
	var start time.Time
	if since != "" {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return report.Period{}, errorf(http.StatusBadRequest, CodeBadRequest, "since=%q: want an RFC 3339 time", truncate(since, 64))
		}
		start = t.UTC()
	} else {
		if period == "" {
			period = "7d"
		}
		d, ok := parseReportPeriod(period)
		if !ok {
			return report.Period{}, errorf(http.StatusBadRequest, CodeBadRequest, "period=%q: want 24h, 7d, 30d, 2w or a duration such as 36h, up to 90d", truncate(period, 32))
		}
		start = end.Add(-d)
	}
	if !start.Before(end) {
		return report.Period{}, errorf(http.StatusBadRequest, CodeBadRequest, "the period from %s to %s is empty: since must come before until",
			start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	if end.Sub(start) > maxReportPeriod {
		return report.Period{}, errorf(http.StatusBadRequest, CodeBadRequest, "the period from %s to %s is longer than 90 days",
			start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return report.Period{Since: start, Until: end}, nil
}

// parseReportPeriod reads Nd, Nw or a positive Go duration of at most maxReportPeriod.
func parseReportPeriod(s string) (time.Duration, bool) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 90 {
			return 0, false
		}
		d = time.Duration(v) * 24 * time.Hour
	} else if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 13 {
			return 0, false
		}
		d = time.Duration(v) * 7 * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, false
		}
	}
	return d, d > 0 && d <= maxReportPeriod
}
