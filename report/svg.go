package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH                     = 720.0, 240.0
	padLeft, padRight, padTop, padBott = 64.0, 16.0, 14.0, 30.0
)

// scale maps values of [lo, hi] (their logarithms when log) onto pixels [p0, p1].
type scale struct {
	lo, hi, p0, p1 float64
	log            bool
}

// newScale is the scale of [lo, hi] onto [p0, p1]. A range that is empty, reversed or not
// finite (min = max, NaN, an infinity, or bounds so close that they are equal in float64)
// is widened around lo, or replaced by [0, 1], so that every scale has hi/2 > lo/2, both
// finite.
func newScale(lo, hi, p0, p1 float64, log bool) scale {
	if log {
		lo, hi = math.Log10(lo), math.Log10(hi)
	}
	if !finite(lo) {
		lo = hi
	}
	if !finite(hi) {
		hi = lo
	}
	if !(hi/2 > lo/2) || !finite(lo) || !finite(hi) {
		d := max(math.Abs(lo)/100, 1)
		lo, hi = lo-d, lo+d
		if !(hi/2 > lo/2) || !finite(lo) || !finite(hi) {
			lo, hi = 0, 1
		}
	}
	return scale{lo: lo, hi: hi, p0: p0, p1: p1, log: log}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// at maps v onto the pixels; NaN for a value the scale cannot place (NaN, or not positive on
// a log scale), which the renderers leave out.
func (s scale) at(v float64) float64 {
	if s.log {
		v = math.Log10(v)
	}
	// Halved, the difference of two finite float64s cannot overflow (hi - lo can: -1e308 to
	// 1e308).
	f := (v/2 - s.lo/2) / (s.hi/2 - s.lo/2)
	return s.p0 + f*(s.p1-s.p0)
}

// maxTicks bounds the ticks of any scale, whatever it is asked for.
const maxTicks = 50

// ticks are about n round values across the scale (powers of ten on a log scale), at most
// maxTicks of them, all finite and within the scale. A scale whose round steps do not move a
// float64 (1e308 to 1e308 + 1e292) has none.
func (s scale) ticks(n int) []float64 {
	n = min(max(n, 1), maxTicks)
	if !finite(s.lo) || !finite(s.hi) || !(s.hi > s.lo) {
		return nil
	}
	var out []float64
	if s.log {
		first := math.Ceil(s.lo - 1e-9)
		stride := max(1, math.Ceil((s.hi-first)/maxTicks))
		for i := range maxTicks + 1 {
			e := first + float64(i)*stride
			if e > s.hi+1e-9 {
				break
			}
			if v := math.Pow(10, e); finite(v) && v > 0 {
				out = append(out, v)
			}
		}
		if s.hi-s.lo < 2 {
			// Under two decades: 1, 2 and 5 of each, so that the axis has a few labels.
			out = out[:0]
			for e := math.Floor(s.lo); e <= s.hi; e++ {
				for _, m := range []float64{1, 2, 5} {
					if l := e + math.Log10(m); l >= s.lo-1e-9 && l <= s.hi+1e-9 {
						if v := m * math.Pow(10, e); finite(v) && v > 0 {
							out = append(out, v)
						}
					}
				}
			}
		}
		return out
	}
	span := s.hi/2 - s.lo/2 // half the span: the whole may overflow
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))+math.Log10(2)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n)/2 {
			step *= m
			break
		}
	}
	first := math.Ceil(s.lo/step) * step
	if !finite(step) || step <= 0 || !finite(first) || first+step == first {
		return nil
	}
	for i := range maxTicks + 1 {
		v := first + float64(i)*step
		if v > s.hi+step*1e-9 || !finite(v) {
			break
		}
		out = append(out, v)
	}
	return out
}

// svg accumulates one chart.
type svg struct {
	b    strings.Builder
	x, y scale
}

func newSVG(id string, points int, x, y scale, title string) *svg {
	s := &svg{x: x, y: y}
	fmt.Fprintf(&s.b, `<svg class="chart" data-chart="%s" data-points="%d" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`,
		esc(id), points, chartW, chartH, chartW, chartH, esc(title))
	fmt.Fprintf(&s.b, `<rect class="frame" x="%g" y="%g" width="%g" height="%g"/>`, padLeft, padTop, chartW-padLeft-padRight, chartH-padTop-padBott)
	return s
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func (s *svg) yAxis(unit string, format func(float64) string) {
	for _, v := range s.y.ticks(5) {
		py := s.y.at(v)
		fmt.Fprintf(&s.b, `<line class="grid" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, padLeft, py, chartW-padRight, py)
		fmt.Fprintf(&s.b, `<text class="tick" x="%g" y="%.1f" text-anchor="end">%s</text>`, padLeft-4, py+4, esc(format(v)))
	}
	if unit != "" {
		fmt.Fprintf(&s.b, `<text class="unit" x="4" y="%g">%s</text>`, padTop-2, esc(unit))
	}
}

func (s *svg) xAxis(format func(float64) string, n int) {
	for _, v := range s.x.ticks(n) {
		px := s.x.at(v)
		fmt.Fprintf(&s.b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, px, chartH-padBott+16, esc(format(v)))
	}
}

func (s *svg) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String()) //nolint:gosec // every text in it went through esc
}

func num(v float64) string { return fmt.Sprintf("%.3g", v) }

// seriesChart draws a sampled series: its points as a line, the trend line, and a marker at
// each alert raised within the period.
func seriesChart(id string, s Series, alerts []Alert, p Period) template.HTML {
	lo, hi := s.Min, s.Max
	for _, tp := range s.TrendLine {
		lo, hi = min(lo, tp.V), max(hi, tp.V)
	}
	pad := (hi - lo) * 0.05
	x := newScale(float64(p.Since.Unix()), float64(p.Until.Unix()), padLeft, chartW-padRight, false)
	y := newScale(lo-pad, hi+pad, chartH-padBott, padTop, false)
	c := newSVG(id, len(s.Points), x, y, s.Name)
	c.yAxis(s.Unit, num)
	span := p.Duration()
	layout := "Jan 2 15:04"
	if span > 3*24*time.Hour {
		layout = "Jan 2"
	}
	for i := 0; i <= 4; i++ {
		t := p.Since.Add(time.Duration(i) * span / 4)
		anchor := map[int]string{0: "start", 4: "end"}[i]
		if anchor == "" {
			anchor = "middle"
		}
		fmt.Fprintf(&c.b, `<text class="tick" x="%.1f" y="%g" text-anchor="%s">%s</text>`, x.at(float64(t.Unix())), chartH-padBott+16, anchor, t.UTC().Format(layout))
	}
	n := 0
	for _, a := range alerts {
		if a.Time.Before(p.Since) || !a.Time.Before(p.Until) || n == 100 {
			continue
		}
		n++
		px := x.at(float64(a.Time.Unix()))
		fmt.Fprintf(&c.b, `<line class="alert sev-%s" x1="%.1f" y1="%g" x2="%.1f" y2="%g"><title>%s</title></line>`,
			esc(a.Severity), px, padTop, px, chartH-padBott, esc(a.Time.UTC().Format(time.RFC3339)+" "+a.Severity+": "+a.Title))
	}
	c.b.WriteString(`<polyline class="data" points="`)
	for i, pt := range s.Points {
		if i > 0 {
			c.b.WriteByte(' ')
		}
		fmt.Fprintf(&c.b, "%.1f,%.1f", x.at(float64(pt.T.Unix())), y.at(pt.V))
	}
	c.b.WriteString(`"/>`)
	if len(s.Points) > 0 {
		a, b := s.TrendLine[0], s.TrendLine[1]
		fmt.Fprintf(&c.b, `<line class="trend" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`,
			x.at(float64(a.T.Unix())), y.at(a.V), x.at(float64(b.T.Unix())), y.at(b.V))
	}
	return c.html()
}

// bar is one bar of a bar chart, with its error bar.
type bar struct {
	label          string
	v, lo, hi      float64
	emphasise      bool
	title          string
	errorBarsKnown bool
}

// barChart draws bars of a unit (seconds, requests) on a linear scale from 0, each with its
// 95 % interval when known.
func barChart(id, title, unit string, bars []bar) template.HTML {
	top := 0.0
	for _, b := range bars {
		top = max(top, b.v, b.hi)
	}
	x := newScale(0, float64(max(len(bars), 1)), padLeft, chartW-padRight, false)
	y := newScale(0, top*1.05, chartH-padBott, padTop, false)
	c := newSVG(id, len(bars), x, y, title)
	c.yAxis(unit, num)
	w := (chartW - padLeft - padRight) / float64(max(len(bars), 1))
	for i, b := range bars {
		x0 := x.at(float64(i)) + w*0.15
		cls := "bar"
		if b.emphasise {
			cls = "bar best"
		}
		fmt.Fprintf(&c.b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			cls, x0, y.at(b.v), w*0.7, y.at(0)-y.at(b.v), esc(b.title))
		if b.errorBarsKnown && b.hi > b.lo {
			mid := x0 + w*0.35
			lo := max(b.lo, 0)
			fmt.Fprintf(&c.b, `<path class="err" d="M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f"/>`,
				mid, y.at(lo), y.at(b.hi), mid-4, y.at(lo), mid+4, mid-4, y.at(b.hi), mid+4)
		}
		if len(bars) <= 24 {
			fmt.Fprintf(&c.b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x0+w*0.35, chartH-padBott+16, esc(b.label))
		}
	}
	return c.html()
}

// growth evaluates a fitted pattern's f(n), false for an unknown pattern.
func growth(pattern string, n float64) (float64, bool) {
	switch pattern {
	case "O(1)":
		return 0, true
	case "O(log n)":
		return math.Log(n), true
	case "O(n)":
		return n, true
	case "O(n log n)":
		return n * math.Log(n), true
	case "O(n^2)":
		return n * n, true
	case "O(n^3)":
		return n * n * n, true
	}
	return 0, false
}

// curveChart draws a scalability curve on log-log axes: the measured points, the fitted
// growth from the smallest size to ten times the largest, and the prediction there.
func curveChart(id string, c Curve) template.HTML {
	if len(c.Points) == 0 {
		return ""
	}
	nlo, nhi, slo, shi := c.ranges()
	x := newScale(nlo/1.5, nhi*1.5, padLeft, chartW-padRight, true)
	y := newScale(slo/2, shi*2, chartH-padBott, padTop, true)
	s := newSVG(id, len(c.Points), x, y, c.Algorithm+" scalability")
	s.yAxis(c.Basis+" seconds", num)
	s.xAxis(func(v float64) string { return num(v) + " rows" }, 5)
	if _, ok := growth(c.Pattern, nlo); ok {
		s.b.WriteString(`<polyline class="fit" points="`)
		const steps = 40
		for i := 0; i <= steps; i++ {
			n := nlo * math.Pow(nhi/nlo, float64(i)/steps)
			f, _ := growth(c.Pattern, n)
			v := c.A + c.B*f
			if v <= 0 {
				continue
			}
			fmt.Fprintf(&s.b, "%.1f,%.1f ", x.at(n), y.at(v))
		}
		s.b.WriteString(`"/>`)
	}
	for _, p := range c.Points {
		if p.Seconds > 0 {
			fmt.Fprintf(&s.b, `<circle class="pt" cx="%.1f" cy="%.1f" r="3.5"><title>%d rows: %s s</title></circle>`, x.at(float64(p.Rows)), y.at(p.Seconds), p.Rows, num(p.Seconds))
		}
	}
	if c.Predicted10x > 0 && c.LargestRows > 0 {
		n := float64(10 * c.LargestRows)
		fmt.Fprintf(&s.b, `<circle class="pred" cx="%.1f" cy="%.1f" r="5"><title>predicted at %d rows: %s s</title></circle>`, x.at(n), y.at(c.Predicted10x), 10*c.LargestRows, num(c.Predicted10x))
	}
	return s.html()
}

// memoryPoints are a memory test's steps as points (rows, peak resident set in MB), those
// with a reading, and the chart's right and top edges: the most rows, and the larger of the
// highest peak and the kill line.
func memoryPoints(m MemoryTest) (xs, ys []float64, right, top float64) {
	for _, st := range m.Steps {
		if st.PeakRSS > 0 {
			xs, ys = append(xs, float64(st.Rows)), append(ys, float64(st.PeakRSS)/1e6)
		}
	}
	top = float64(m.KillAtBytes) / 1e6
	for i := range xs {
		top, right = max(top, ys[i]), max(right, xs[i])
	}
	return xs, ys, right, top
}

// memoryChart draws a memory test's peak resident set against rows (linear axes), with the
// kill line.
func memoryChart(id string, m MemoryTest) template.HTML {
	xs, ys, right, top := memoryPoints(m)
	x := newScale(0, right*1.05, padLeft, chartW-padRight, false)
	y := newScale(0, top*1.05, chartH-padBott, padTop, false)
	s := newSVG(id, len(xs), x, y, m.Algorithm+" memory")
	s.yAxis("peak RSS MB", num)
	s.xAxis(func(v float64) string { return num(v) + " rows" }, 5)
	if m.KillAtBytes > 0 {
		ky := y.at(float64(m.KillAtBytes) / 1e6)
		fmt.Fprintf(&s.b, `<line class="limit" x1="%g" y1="%.1f" x2="%g" y2="%.1f"><title>kill line</title></line>`, padLeft, ky, chartW-padRight, ky)
	}
	for i := range xs {
		fmt.Fprintf(&s.b, `<circle class="pt" cx="%.1f" cy="%.1f" r="3.5"><title>%s rows: %s MB</title></circle>`, x.at(xs[i]), y.at(ys[i]), num(xs[i]), num(ys[i]))
	}
	return s.html()
}

// ranges are the rows (to ten times the largest) and the positive seconds a scalability chart
// must show, the prediction at 10x included; 1 ms to 1 s when no time is positive. Both the
// SVG and the PDF chart use them.
func (c Curve) ranges() (nlo, nhi, slo, shi float64) {
	nlo, nhi = float64(c.Points[0].Rows), float64(max(c.LargestRows, c.Points[len(c.Points)-1].Rows))*10
	slo, shi = math.Inf(1), 0.0
	for _, p := range c.Points {
		if p.Seconds > 0 {
			slo, shi = min(slo, p.Seconds), max(shi, p.Seconds)
		}
		nlo = min(nlo, float64(p.Rows))
	}
	if c.Predicted10x > 0 {
		shi = max(shi, c.Predicted10x)
	}
	if math.IsInf(slo, 0) {
		slo, shi = 1e-3, 1
	}
	return nlo, nhi, slo, shi
}

// pctLine is one latency curve of a percentile chart: latencies in seconds at percentiles
// (0 to 100).
type pctLine struct {
	name        string
	percentiles []float64
	seconds     []float64
}

// nines is where a percentile sits on a percentile chart's x axis: -log10(1 - p/100), so that
// 90, 99 and 99.9 are equally spaced (HdrHistogram's plots); 99.999 and above at 5.
func nines(pc float64) float64 {
	if !(pc < 99.999) {
		return 5
	}
	return -math.Log10(1 - max(pc, 0)/100)
}

// ninesTicks are the labelled percentiles of a percentile chart's x axis.
var ninesTicks = []struct {
	pc    float64
	label string
}{{0, "0"}, {50, "50"}, {90, "90"}, {95, "95"}, {99, "99"}, {99.9, "99.9"}, {99.99, "99.99"}, {99.999, "99.999"}}

// pctRanges are the x (nines) and y (seconds, positive) ranges of a percentile chart.
func pctRanges(lines []pctLine) (xhi, ylo, yhi float64) {
	xhi, ylo, yhi = nines(99), math.Inf(1), 0
	for _, l := range lines {
		for i, pc := range l.percentiles {
			if i < len(l.seconds) && l.seconds[i] > 0 && finite(l.seconds[i]) {
				xhi, ylo, yhi = max(xhi, nines(pc)), min(ylo, l.seconds[i]), max(yhi, l.seconds[i])
			}
		}
	}
	if math.IsInf(ylo, 0) {
		ylo, yhi = 1e-3, 1
	}
	return xhi, ylo, yhi
}

// percentileChart draws latency curves: latency (log scale, ms) against the percentile on a
// nines scale, each line named at its end so that the chart reads without a legend.
func percentileChart(id, title string, lines []pctLine) template.HTML {
	xhi, ylo, yhi := pctRanges(lines)
	x := newScale(0, xhi+0.35, padLeft, chartW-padRight-70, false)
	y := newScale(ylo*1e3/1.5, yhi*1e3*1.5, chartH-padBott, padTop, true)
	n := 0
	for _, l := range lines {
		n += len(l.seconds)
	}
	c := newSVG(id, n, x, y, title)
	c.yAxis("latency ms", num)
	for _, t := range ninesTicks {
		if nines(t.pc) <= xhi+1e-9 {
			fmt.Fprintf(&c.b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x.at(nines(t.pc)), chartH-padBott+16, t.label)
		}
	}
	fmt.Fprintf(&c.b, `<text class="unit" x="%g" y="%g" text-anchor="end">percentile</text>`, chartW-padRight, chartH-4)
	for i, l := range lines {
		cls := fmt.Sprintf("line-%d", i%5)
		c.b.WriteString(`<polyline class="pctl ` + cls + `" points="`)
		lx, ly, ok := 0.0, 0.0, false
		for j, pc := range l.percentiles {
			if j >= len(l.seconds) || !(l.seconds[j] > 0) || !finite(l.seconds[j]) {
				continue
			}
			lx, ly, ok = x.at(nines(pc)), y.at(l.seconds[j]*1e3), true
			fmt.Fprintf(&c.b, "%.1f,%.1f ", lx, ly)
		}
		c.b.WriteString(`"/>`)
		for j, pc := range l.percentiles {
			if j < len(l.seconds) && l.seconds[j] > 0 && finite(l.seconds[j]) {
				fmt.Fprintf(&c.b, `<circle class="pt %s" cx="%.1f" cy="%.1f" r="2.5"><title>%s p%s: %s ms</title></circle>`,
					cls, x.at(nines(pc)), y.at(l.seconds[j]*1e3), esc(l.name), num(pc), num(l.seconds[j]*1e3))
			}
		}
		if ok {
			fmt.Fprintf(&c.b, `<text class="label %s" x="%.1f" y="%.1f">%s</text>`, cls, lx+6, ly+3, esc(shorten(l.name, 18)))
		}
	}
	return c.html()
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
