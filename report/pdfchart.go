package report

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// The PDF's charts, drawn with the PDF's own lines from the report's figures.

// pdfChart is one chart's frame on the page: x and y map the data onto millimetres.
type pdfChart struct {
	d    *pdfDoc
	x, y scale
	// left, top, right, bottom are the plot area's edges.
	left, top, right, bottom float64
}

// newChart reserves a chart's room below the current position and draws its frame; x and y
// are the data ranges (their logarithms when log).
func (d *pdfDoc) newChart(xlo, xhi, ylo, yhi float64, xlog, ylog bool) *pdfChart {
	d.room(pdfChartH + 2)
	top := d.f.GetY() + 1
	c := &pdfChart{d: d, left: pdfMargin + 16, top: top + 2, right: pdfMargin + pdfChartW - 2, bottom: top + pdfChartH - 8}
	c.x = newScale(xlo, xhi, c.left, c.right, xlog)
	c.y = newScale(ylo, yhi, c.bottom, c.top, ylog)
	d.f.SetDrawColor(187, 187, 187)
	d.f.SetFillColor(250, 250, 250)
	d.f.SetLineWidth(0.2)
	d.f.Rect(c.left, c.top, c.right-c.left, c.bottom-c.top, "FD")
	d.f.SetY(top + pdfChartH)
	return c
}

func finitePt(x, y float64) bool {
	return !math.IsNaN(x) && !math.IsNaN(y) && !math.IsInf(x, 0) && !math.IsInf(y, 0)
}

// inside clamps a page coordinate to the plot area, vertically.
func (c *pdfChart) clampY(y float64) float64 { return min(max(y, c.top), c.bottom) }

// yAxis draws the grid and labels of the y scale, with the unit.
func (c *pdfChart) yAxis(unit string) {
	f := c.d.f
	c.d.font("", 7)
	f.SetTextColor(85, 85, 85)
	ticks := c.y.ticks(5)
	for _, v := range ticks {
		py := c.y.at(v)
		if !finitePt(0, py) || py < c.top-0.01 || py > c.bottom+0.01 {
			continue
		}
		f.SetDrawColor(230, 230, 230)
		f.Line(c.left, py, c.right, py)
		s := num(v)
		f.Text(c.left-1.5-f.GetStringWidth(s), py+1.2, s)
	}
	if unit != "" {
		f.Text(c.left, c.top-0.8, c.d.text(c.d.fit(unit, 60)))
	}
}

// xAxis draws n labels of the x scale.
func (c *pdfChart) xAxis(format func(float64) string) {
	f := c.d.f
	c.d.font("", 7)
	f.SetTextColor(85, 85, 85)
	ticks := c.x.ticks(5)
	for _, v := range ticks {
		px := c.x.at(v)
		if !finitePt(px, 0) || px < c.left-0.01 || px > c.right+0.01 {
			continue
		}
		s := format(v)
		f.Text(px-f.GetStringWidth(s)/2, c.bottom+4, s)
	}
}

// polyline draws the points that are finite, as one line.
func (c *pdfChart) polyline(xs, ys []float64) {
	f := c.d.f
	px, py, have := 0.0, 0.0, false
	for i := range xs {
		x, y := c.x.at(xs[i]), c.y.at(ys[i])
		if !finitePt(x, y) {
			have = false
			continue
		}
		y = c.clampY(y)
		if have {
			f.Line(px, py, x, y)
		}
		px, py, have = x, y, true
	}
}

func (d *pdfDoc) seriesChart(s Series) {
	r := d.r
	lo, hi := s.Min, s.Max
	for _, tp := range s.TrendLine {
		lo, hi = min(lo, tp.V), max(hi, tp.V)
	}
	pad := (hi - lo) * 0.05
	c := d.newChart(float64(r.Period.Since.Unix()), float64(r.Period.Until.Unix()), lo-pad, hi+pad, false, false)
	c.yAxis(s.Unit)
	f := d.f
	span := r.Period.Duration()
	layout := "Jan 2 15:04"
	if span > 3*24*time.Hour {
		layout = "Jan 2"
	}
	d.font("", 7)
	for i := 0; i <= 4; i++ {
		t := r.Period.Since.Add(time.Duration(i) * span / 4)
		lbl := t.UTC().Format(layout)
		x := c.x.at(float64(t.Unix())) - f.GetStringWidth(lbl)/2
		x = min(max(x, c.left), c.right-f.GetStringWidth(lbl))
		f.Text(x, c.bottom+4, lbl)
	}
	f.SetLineWidth(0.25)
	n := 0
	for _, a := range r.Alerts.Items {
		if a.Time.Before(r.Period.Since) || !a.Time.Before(r.Period.Until) || n == 100 {
			continue
		}
		n++
		if a.Severity == "critical" || a.Severity == "high" {
			f.SetDrawColor(198, 40, 40)
		} else {
			f.SetDrawColor(239, 108, 0)
		}
		px := c.x.at(float64(a.Time.Unix()))
		f.Line(px, c.top, px, c.bottom)
	}
	f.SetDrawColor(21, 101, 192)
	f.SetLineWidth(0.35)
	xs, ys := make([]float64, len(s.Points)), make([]float64, len(s.Points))
	for i, p := range s.Points {
		xs[i], ys[i] = float64(p.T.Unix()), p.V
	}
	c.polyline(xs, ys)
	if len(s.Points) > 0 {
		a, b := s.TrendLine[0], s.TrendLine[1]
		f.SetDrawColor(198, 40, 40)
		f.SetLineWidth(0.4)
		f.SetDashPattern([]float64{2, 1}, 0)
		c.polyline([]float64{float64(a.T.Unix()), float64(b.T.Unix())}, []float64{a.V, b.V})
		f.SetDashPattern(nil, 0)
	}
	f.SetLineWidth(0.2)
}

func (d *pdfDoc) barChart(bars []bar) { d.barChartUnit("seconds", bars) }

// barChartUnit draws bars of a unit on a linear scale from 0, with their 95 % intervals
// when known.
func (d *pdfDoc) barChartUnit(unit string, bars []bar) {
	top := 0.0
	for _, b := range bars {
		top = max(top, b.v, b.hi)
	}
	c := d.newChart(0, float64(max(len(bars), 1)), 0, top*1.05, false, false)
	c.yAxis(unit)
	f := d.f
	w := (c.right - c.left) / float64(max(len(bars), 1))
	d.font("", 6.5)
	for i, b := range bars {
		x0 := c.x.at(float64(i)) + w*0.15
		y1, y0 := c.y.at(b.v), c.y.at(0)
		if !finitePt(x0, y1) || !finitePt(x0, y0) {
			continue
		}
		y1 = c.clampY(y1)
		if b.emphasise {
			f.SetFillColor(21, 101, 192)
		} else {
			f.SetFillColor(144, 202, 249)
		}
		f.Rect(x0, y1, w*0.7, y0-y1, "F")
		if b.errorBarsKnown && b.hi > b.lo {
			mid := x0 + w*0.35
			lo, hi := c.y.at(max(b.lo, 0)), c.y.at(b.hi)
			if finitePt(lo, hi) {
				lo, hi = c.clampY(lo), c.clampY(hi)
				f.SetDrawColor(51, 51, 51)
				f.SetLineWidth(0.3)
				f.Line(mid, lo, mid, hi)
				f.Line(mid-1.2, lo, mid+1.2, lo)
				f.Line(mid-1.2, hi, mid+1.2, hi)
				f.SetLineWidth(0.2)
			}
		}
		if len(bars) <= 24 {
			lbl := d.fit(d.text(b.label), w)
			f.SetTextColor(85, 85, 85)
			f.Text(x0+w*0.35-f.GetStringWidth(lbl)/2, c.bottom+4, lbl)
		}
	}
}

func (d *pdfDoc) curveChart(cv Curve) {
	if len(cv.Points) == 0 {
		return
	}
	nlo, nhi, slo, shi := cv.ranges()
	c := d.newChart(nlo/1.5, nhi*1.5, slo/2, shi*2, true, true)
	c.yAxis(cv.Basis + " seconds")
	c.xAxis(func(v float64) string { return num(v) + " rows" })
	f := d.f
	if _, ok := growth(cv.Pattern, nlo); ok && nlo > 0 {
		var xs, ys []float64
		const steps = 40
		for i := 0; i <= steps; i++ {
			n := nlo * math.Pow(nhi/nlo, float64(i)/steps)
			g, _ := growth(cv.Pattern, n)
			if v := cv.A + cv.B*g; v > 0 {
				xs, ys = append(xs, n), append(ys, v)
			}
		}
		f.SetDrawColor(198, 40, 40)
		f.SetLineWidth(0.35)
		c.polyline(xs, ys)
		f.SetLineWidth(0.2)
	}
	f.SetFillColor(21, 101, 192)
	for _, p := range cv.Points {
		if p.Seconds > 0 {
			if x, y := c.x.at(float64(p.Rows)), c.y.at(p.Seconds); finitePt(x, y) {
				f.Circle(x, c.clampY(y), 1, "F")
			}
		}
	}
	if cv.Predicted10x > 0 && cv.LargestRows > 0 {
		if x, y := c.x.at(float64(10*cv.LargestRows)), c.y.at(cv.Predicted10x); finitePt(x, y) {
			f.SetDrawColor(198, 40, 40)
			f.SetLineWidth(0.5)
			f.Circle(x, c.clampY(y), 1.5, "D")
			f.SetLineWidth(0.2)
		}
	}
}

func (d *pdfDoc) memoryChart(m MemoryTest) {
	xs, ys, right, top := memoryPoints(m)
	c := d.newChart(0, right*1.05, 0, top*1.05, false, false)
	c.yAxis("peak RSS MB")
	c.xAxis(func(v float64) string { return num(v) + " rows" })
	f := d.f
	if m.KillAtBytes > 0 {
		if ky := c.y.at(float64(m.KillAtBytes) / 1e6); finitePt(0, ky) {
			f.SetDrawColor(198, 40, 40)
			f.SetDashPattern([]float64{1.5, 1}, 0)
			f.Line(c.left, c.clampY(ky), c.right, c.clampY(ky))
			f.SetDashPattern(nil, 0)
		}
	}
	f.SetFillColor(21, 101, 192)
	for i := range xs {
		if x, y := c.x.at(xs[i]), c.y.at(ys[i]); finitePt(x, y) {
			f.Circle(x, c.clampY(y), 1, "F")
		}
	}
}

// opPercentile is an operation's latency at a percentile, "-" when not stored.
func opPercentile(o Operation, pc float64) string {
	for _, l := range o.Latency {
		if l.Percentile == pc {
			return pdfMS(l.Seconds)
		}
	}
	return "-"
}

// pdfPalette colours a chart's lines, as the page's line-0 to line-4.
var pdfPalette = [][3]int{{21, 101, 192}, {198, 40, 40}, {46, 125, 50}, {106, 27, 154}, {239, 108, 0}}

// pctChart draws latency curves against the percentile on a nines scale (see
// percentileChart), each line named at its end.
func (d *pdfDoc) pctChart(lines []pctLine) {
	xhi, ylo, yhi := pctRanges(lines)
	c := d.newChart(0, xhi+0.35, ylo*1e3/1.5, yhi*1e3*1.5, false, true)
	c.right -= 22 // room for the names
	c.x = newScale(0, xhi+0.35, c.left, c.right, false)
	c.yAxis("latency ms")
	f := d.f
	d.font("", 7)
	for _, t := range ninesTicks {
		if nines(t.pc) <= xhi+1e-9 {
			f.Text(c.x.at(nines(t.pc))-f.GetStringWidth(t.label)/2, c.bottom+4, t.label)
		}
	}
	f.Text(c.right+2, c.bottom+4, "percentile")
	for i, l := range lines {
		col := pdfPalette[i%len(pdfPalette)]
		f.SetDrawColor(col[0], col[1], col[2])
		f.SetFillColor(col[0], col[1], col[2])
		f.SetTextColor(col[0], col[1], col[2])
		f.SetLineWidth(0.4)
		var xs, ys []float64
		for j, pc := range l.percentiles {
			if j < len(l.seconds) && l.seconds[j] > 0 && finite(l.seconds[j]) {
				xs, ys = append(xs, nines(pc)), append(ys, l.seconds[j]*1e3)
			}
		}
		c.polyline(xs, ys)
		for j := range xs {
			if x, y := c.x.at(xs[j]), c.y.at(ys[j]); finitePt(x, y) {
				f.Circle(x, c.clampY(y), 0.7, "F")
			}
		}
		if n := len(xs); n > 0 {
			if x, y := c.x.at(xs[n-1]), c.y.at(ys[n-1]); finitePt(x, y) {
				f.Text(x+1.5, c.clampY(y)+1, d.text(shorten(l.name, 18)))
			}
		}
	}
	f.SetLineWidth(0.2)
	f.SetTextColor(34, 34, 34)
}

// cdChart draws the critical-difference diagram of the HTML page (cdChart in crossdataset.go):
// the rank axis from 1 to k, each algorithm at its mean rank with its name hanging below (the
// better half to the left, the rest to the right), a bar under each group not significantly
// different, and the critical difference's length above the axis.
func (d *pdfDoc) cdChart(x *CrossDataset) {
	k := len(x.Algorithms)
	if k < 2 || len(x.MeanRanks) != k {
		return
	}
	const lineH = 4.5
	half := (k + 1) / 2
	h := 14 + 2*float64(len(x.Groups)) + 6 + lineH*float64(half) + 2
	d.room(h)
	f := d.f
	y0 := f.GetY()
	axis := y0 + 11
	sc := newScale(1, float64(k), pdfMargin+50, pdfMargin+pdfChartW-50, false)
	d.font("", 7)
	f.SetTextColor(85, 85, 85)
	f.SetDrawColor(51, 51, 51)
	f.SetLineWidth(0.3)
	f.Line(sc.at(1), axis, sc.at(float64(k)), axis)
	for r := 1; r <= k; r++ {
		px := sc.at(float64(r))
		f.Line(px, axis-1.5, px, axis)
		lbl := fmt.Sprint(r)
		f.Text(px-f.GetStringWidth(lbl)/2, axis-2.5, lbl)
	}
	if x.CriticalDifference != nil && finite(*x.CriticalDifference) {
		cd := *x.CriticalDifference
		f.SetDrawColor(198, 40, 40)
		f.Line(sc.at(1), y0+3, sc.at(min(1+cd, float64(k))), y0+3)
		f.Text(sc.at(min(1+cd, float64(k)))+1.5, y0+4, "CD = "+num(cd))
	}
	f.SetDrawColor(51, 51, 51)
	f.SetLineWidth(0.8)
	for gi, g := range x.Groups {
		i0, i1 := slices.Index(x.Algorithms, g[0]), slices.Index(x.Algorithms, g[len(g)-1])
		if i0 < 0 || i1 < 0 {
			continue
		}
		gy := axis + 3 + 2*float64(gi)
		f.Line(sc.at(x.MeanRanks[i0])-1, gy, sc.at(x.MeanRanks[i1])+1, gy)
	}
	f.SetLineWidth(0.25)
	base := axis + 3 + 2*float64(len(x.Groups)) + 4
	f.SetFillColor(21, 101, 192)
	for i, a := range x.Algorithms {
		px := sc.at(x.MeanRanks[i])
		if !finite(px) {
			continue
		}
		lbl := d.text(d.fit(a+" "+num(x.MeanRanks[i]), 48))
		ly := base + lineH*float64(i)
		lx, end := pdfMargin, pdfMargin+f.GetStringWidth(lbl)+1
		if i >= half {
			ly = base + lineH*float64(k-1-i)
			lx = pdfMargin + pdfChartW - f.GetStringWidth(lbl)
			end = lx - 1
		}
		f.Line(px, axis, px, ly-1)
		f.Line(px, ly-1, end, ly-1)
		f.Circle(px, axis, 0.7, "F")
		f.Text(lx, ly, lbl)
	}
	f.SetLineWidth(0.2)
	f.SetTextColor(34, 34, 34)
	f.SetY(y0 + h)
}
