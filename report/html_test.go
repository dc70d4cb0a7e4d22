package report_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/report"
)

// element is a parsed XML element, enough to walk the page.
type element struct {
	name     string
	attrs    map[string]string
	children []*element
}

// parseXML parses the page strictly: the HTML is written to be well-formed XML, so an
// unclosed or misnested tag, a bad entity or a stray & fails here.
func parseXML(t *testing.T, page []byte) *element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	root := &element{name: "#document"}
	stack := []*element{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the HTML is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			parent := stack[len(stack)-1]
			parent.children = append(parent.children, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 1 {
		t.Fatalf("%d elements left open", len(stack)-1)
	}
	return root
}

func (e *element) walk(f func(*element)) {
	f(e)
	for _, c := range e.children {
		c.walk(f)
	}
}

func hasClass(e *element, class string) bool {
	return strings.Contains(" "+e.attrs["class"]+" ", " "+class+" ")
}

// count counts the elements below e named name with the class.
func (e *element) count(name, class string) int {
	n := 0
	e.walk(func(c *element) {
		if c.name == name && hasClass(c, class) {
			n++
		}
	})
	return n
}

func TestHTML(t *testing.T) {
	r := dayReport(t)
	var b bytes.Buffer
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	root := parseXML(t, b.Bytes())
	charts := map[string]*element{}
	root.walk(func(e *element) {
		for k, v := range e.attrs {
			if (k == "src" || k == "href" || k == "action") && !strings.HasPrefix(v, "#") {
				t.Errorf("<%s %s=%q>: the page must not ask another host for anything", e.name, k, v)
			}
		}
		switch e.name {
		case "script", "link", "img", "iframe", "object":
			t.Errorf("<%s> in the page: it must be self-contained, charts as inline SVG", e.name)
		case "svg":
			charts[e.attrs["data-chart"]] = e
		}
	})
	want := map[string]int{}
	for i, s := range r.Series {
		want[fmt.Sprintf("series-%d", i)] = len(s.Points)
	}
	for i, bm := range r.Benchmarks {
		n := 0
		for _, c := range bm.Cells {
			if c.Seconds > 0 {
				n++
			}
		}
		want[fmt.Sprintf("benchmark-%d", i)] = n
	}
	for i, c := range r.Comparisons {
		want[fmt.Sprintf("compare-%d", i)] = len(c.Algorithms)
	}
	for i, c := range r.Scalability {
		want[fmt.Sprintf("scalability-%d", i)] = len(c.Points)
	}
	for i, m := range r.Memory {
		want[fmt.Sprintf("memory-%d", i)] = len(m.Steps)
	}
	curves := 0
	for _, o := range r.Operations {
		if len(o.Latency) >= 2 && curves < report.MaxLatencyCurves {
			curves++
			want["latency"] += len(o.Latency)
		}
	}
	if curves == 0 {
		t.Fatal("the fixture has no latency curve to draw")
	}
	if len(r.LoadTests) != 1 {
		t.Fatalf("%d load tests, want the fixture's ramp", len(r.LoadTests))
	}
	want["loadtest-curve"] = len(r.LoadTests[0].Percentiles)
	want["loadtest-histogram"] = len(r.LoadTests[0].Histogram)
	if len(charts) != len(want) {
		t.Errorf("%d charts in the page, want %d", len(charts), len(want))
	}
	for id, n := range want {
		c := charts[id]
		if c == nil {
			t.Errorf("chart %s missing", id)
			continue
		}
		if got, _ := strconv.Atoi(c.attrs["data-points"]); got != n {
			t.Errorf("chart %s: data-points %d, want %d", id, got, n)
		}
		var got int
		switch {
		case strings.HasPrefix(id, "series-"):
			c.walk(func(e *element) {
				if e.name == "polyline" && hasClass(e, "data") {
					got = len(strings.Fields(e.attrs["points"]))
				}
			})
			if c.count("line", "trend") != 1 {
				t.Errorf("chart %s: no trend line", id)
			}
			if a := c.count("line", "alert"); a != r.Alerts.Total {
				t.Errorf("chart %s: %d alert markers, want %d", id, a, r.Alerts.Total)
			}
		case strings.HasPrefix(id, "benchmark-"), strings.HasPrefix(id, "compare-"):
			got = c.count("rect", "bar")
			if e := c.count("path", "err"); e != got {
				t.Errorf("chart %s: %d error bars for %d bars", id, e, got)
			}
		case strings.HasPrefix(id, "scalability-"):
			got = c.count("circle", "pt")
			if c.count("polyline", "fit") != 1 || c.count("circle", "pred") != 1 {
				t.Errorf("chart %s: no fitted curve or prediction", id)
			}
		case strings.HasPrefix(id, "memory-"):
			got = c.count("circle", "pt")
		case id == "loadtest-histogram":
			got = c.count("rect", "bar")
		case id == "latency", id == "loadtest-curve":
			got = c.count("circle", "pt")
			lines := curves
			if id == "loadtest-curve" {
				lines = 1
			}
			if l := c.count("polyline", "pctl"); l != lines {
				t.Errorf("chart %s: %d curves, want %d", id, l, lines)
			}
			if l := c.count("text", "label"); l != lines {
				t.Errorf("chart %s: %d curve names, want %d", id, l, lines)
			}
		}
		if got != n {
			t.Errorf("chart %s: %d points drawn, want %d", id, got, n)
		}
	}
	if s := b.String(); strings.Contains(s, "http://") || strings.Contains(s, "https://") {
		t.Errorf("the page names a web address")
	}
}

// Text from the store (alert titles, algorithm names) is escaped in the page and its charts.
func TestHTMLEscapes(t *testing.T) {
	r := dayReport(t)
	r.Alerts.Items[0].Title = `</title><script>alert(1)</script> & "x"`
	r.Benchmarks[0].Name = `<b>&`
	r.Benchmarks[0].Cells[0].ID = `</svg><img src="http://evil.example/">`
	var b bytes.Buffer
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	root := parseXML(t, b.Bytes())
	root.walk(func(e *element) {
		if e.name == "script" || e.name == "img" {
			t.Errorf("<%s> injected from the store's text", e.name)
		}
	})
}
