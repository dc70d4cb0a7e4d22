package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gonomaly/gonomaly/monitor"
)

// chromium finds the browser the dashboard's test drives. Without it the test fails: CI
// installs it with scripts/tools.sh (the Debian package chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run scripts/tools.sh (it installs the Debian package chromium, as CI does); the dashboard's browser test needs it")
	return ""
}

// artifactDir is where a test leaves files for people to look at: $GONOMALY_ARTIFACTS, or a
// temporary directory.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("GONOMALY_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pageProblems collects what a tab reports going wrong: console errors, uncaught exceptions,
// the browser's error log (CSP violations among them), failed requests and answers of 400 and
// more. allow, when set, excuses a problem (the 401 of a tab without a key).
type pageProblems struct {
	mu     sync.Mutex
	list   []string
	status map[int]int // answers by status
	allow  func(kind, url string, status int) bool
}

func (p *pageProblems) add(kind, url string, status int, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.allow != nil && p.allow(kind, url, status) {
		return
	}
	p.list = append(p.list, fmt.Sprintf("%s: %s %s", kind, url, text))
}

func (p *pageProblems) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p.add("console.error", "", 0, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		p.add("exception", d.URL, 0, fmt.Sprintf("line %d: %s", d.LineNumber+1, text))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p.add("log error", ev.Entry.URL, 0, ev.Entry.Text)
		}
	case *network.EventLoadingFailed:
		p.add("request failed", "", 0, fmt.Sprintf("%s (%s, canceled %v, blocked %q)", ev.ErrorText, ev.Type, ev.Canceled, ev.BlockedReason))
	case *network.EventResponseReceived:
		p.mu.Lock()
		p.status[int(ev.Response.Status)]++
		p.mu.Unlock()
		if ev.Response.Status >= 400 {
			p.add("answer", ev.Response.URL, int(ev.Response.Status), strconv.Itoa(int(ev.Response.Status)))
		}
	}
}

func (p *pageProblems) check(t *testing.T, tab string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.list {
		t.Errorf("%s: %s", tab, s)
	}
}

// The dashboard in a real browser: it loads with no error and no failed request, reads the
// key from #key= and drops it from the address, draws its charts, follows the service as
// predictions arrive (request count, model health, alerts), shows the API's text as text,
// fits a 1366x768 screen; a tab without a key says so on the 401 and works once one is typed.
func TestDashboardInChromium(t *testing.T) {
	browser := chromium(t)
	const key = "dash+board/test=key" // taken from #key= as written: the plus stays a plus
	e := newEnv(t, envOpts{key: key, cfg: func(c *Config) {
		c.Monitor.Every = 200 * time.Millisecond
		c.Monitor.Sampler.Interval = 250 * time.Millisecond
		c.Instance = "dash-test:8080"
	}})
	id := e.createAndTrain("hbos", nil, shifted(2000, 3, 0, 1))
	for i := range 4 {
		e.predictOK(id, shifted(20, 3, 0, uint64(10+i)))
	}
	// Text from the API that must stay text: an alert's title, description and action.
	const planted = `<img src=x onerror="window.pwned=1">planted`
	e.srv.Monitor().Alerts().Evaluate(context.Background(), monitor.Condition{
		Key: "test/planted", Rule: "test", Firing: true, Severity: monitor.SeverityMedium,
		Title: "Planted by the test: " + planted, Description: "A condition the test raised; its title holds markup.",
		Actions: []string{"<script>window.pwned=2</script> stays text"},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	actx, stop := chromedp.NewExecAllocator(ctx, opts...)
	defer stop()

	problems := &pageProblems{status: map[int]int{}, allow: clusterAbsent}
	tab, closeTab := chromedp.NewContext(actx, chromedp.WithListener(problems.listen))
	defer closeTab()
	page := e.http.URL + "/performance/dashboard?interval=0.5"
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1366, 768), chromedp.Navigate(page+"#key="+key)); err != nil {
		t.Fatalf("opening the dashboard in %s: %v", browser, err)
	}
	wait := func(tab context.Context, what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			problems.check(t, "dashboard")
			text, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText.slice(0, 1500)`))
			t.Fatalf("waiting for %s: %v\nthe page shows:\n%s", what, err, text)
		}
	}
	eval := func(tab context.Context, expr string) string {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}

	// Every time series has a line of at least two points.
	wait(tab, "the charts to draw", `(() => {
		const want = {"chart-latency": 3, "chart-throughput": 1, "chart-errors": 1, "chart-memory": 2, "chart-cpu": 2, "chart-flagged": 1};
		return Object.entries(want).every(([id, n]) => {
			const paths = document.querySelectorAll("#" + id + " svg path.series");
			return paths.length === n && [...paths].every(p => +p.dataset.points >= 2 && p.getTotalLength() > 0);
		});
	})()`)
	if h := eval(tab, `location.href`); strings.Contains(h, key) {
		t.Errorf("the key stays in the address: %s", h)
	}
	if k := eval(tab, `sessionStorage.getItem("gonomaly.apiKey") || ""`); k != key {
		t.Errorf("sessionStorage holds %q, want the key from #key=", k)
	}
	wait(tab, "the header to name the instance", `document.getElementById("instance").textContent === "· dash-test:8080"`)

	count := func() int {
		s := strings.ReplaceAll(eval(tab, `document.getElementById("kpi-count").textContent`), ",", "")
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("the request count shows %q", s)
		}
		return n
	}
	before, thrBefore := count(), eval(tab, `document.getElementById("kpi-throughput").textContent`)
	for i := range 40 { // shifted rows: the detector's health turns to drift
		e.predictOK(id, shifted(25, 3, 2, uint64(100+i)))
	}
	wait(tab, "the request count to take the 40 predictions",
		fmt.Sprintf(`+document.getElementById("kpi-count").textContent.replace(/,/g, "") >= %d`, before+40))
	if after := eval(tab, `document.getElementById("kpi-throughput").textContent`); after == thrBefore {
		t.Errorf("throughput still shows %s after 40 more requests", after)
	}
	wait(tab, "the detector's drift and its alerts", fmt.Sprintf(`(() => {
		const row = [...document.querySelectorAll("#models tbody tr")].find(r => r.cells[0].title === %q);
		const alerts = [...document.querySelectorAll("#alerts > li")].map(li => li.textContent);
		return !!row && row.cells[5].textContent === "drift" && row.cells[6].textContent.includes("#") &&
			alerts.some(a => a.includes(%q)) && alerts.some(a => a.includes("Planted by the test"));
	})()`, id, id))
	if got := eval(tab, `document.querySelector("#operations tbody").textContent`); !strings.Contains(got, "POST /api/v1/detection/predict") {
		t.Errorf("the operations table has no predict row: %q", got)
	}

	// The API's text is shown as text: the markup is on screen, no element came of it.
	if got := eval(tab, `String(window.pwned) + " " + document.querySelectorAll("main img, main script").length + " " +
		document.getElementById("alerts").textContent.includes(`+strconv.Quote(planted)+`)`); got != "undefined 0 true" {
		t.Errorf("pwned, img/script elements, markup shown as text: %s; want undefined 0 true", got)
	}

	// At 1366x768: nothing wider than the screen, figures and charts above the fold, no two
	// line labels of a chart overlapping.
	layout := eval(tab, `(() => {
		const out = [];
		if (document.documentElement.scrollWidth > innerWidth) out.push("page wider than the screen: " + document.documentElement.scrollWidth);
		const b = document.getElementById("chart-flagged").getBoundingClientRect().bottom;
		if (b > innerHeight) out.push("charts end at " + b + " px, below the 768 px screen");
		for (const svg of document.querySelectorAll(".chart svg")) {
			const boxes = [...svg.querySelectorAll("text")].map(t => t.getBBox());
			const sw = svg.getBoundingClientRect().width;
			boxes.forEach((a, i) => {
				if (a.x < -0.5 || a.x + a.width > sw + 0.5) out.push(svg.parentNode.id + ": text outside the chart");
				boxes.slice(i + 1).forEach(c => {
					if (a.x < c.x + c.width && c.x < a.x + a.width && a.y < c.y + c.height && c.y < a.y + a.height) out.push(svg.parentNode.id + ": texts overlap");
				});
			});
		}
		for (const el of document.querySelectorAll(".kpi output, .kpi small, .kpi h2, figcaption")) {
			if (el.scrollWidth > el.clientWidth + 1) out.push("cut off: " + el.textContent);
		}
		return out.join("; ");
	})()`)
	if layout != "" {
		t.Errorf("layout at 1366x768: %s", layout)
	}

	dir := artifactDir(t)
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	full, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // quality 100: a PNG
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"dashboard.png": shot, "dashboard-full.png": full} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("/tmp/dashboard.png", shot, 0o644); err != nil {
		t.Logf("copying the screenshot to /tmp: %v", err)
	}
	t.Logf("screenshots in %s", dir)
	problems.check(t, "dashboard")

	// A tab without the key: the 401 is explained, and the key typed in the form works.
	keyless := &pageProblems{status: map[int]int{}, allow: func(kind, url string, status int) bool {
		return status == 401 && strings.HasSuffix(url, "/api/performance/metrics") ||
			kind == "log error" && strings.HasSuffix(url, "/api/performance/metrics") || clusterAbsent(kind, url, status)
	}}
	tab2, closeTab2 := chromedp.NewContext(tab, chromedp.WithListener(keyless.listen)) // a new tab of the same browser
	defer closeTab2()
	if err := chromedp.Do(tab2, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	wait(tab2, "the message that asks for a key", `(() => {
		const m = document.getElementById("message");
		return !m.hidden && m.textContent.includes("needs an API key") && m.getBoundingClientRect().height > 0;
	})()`)
	if err := chromedp.Do(tab2, chromedp.SendKeys(chromedp.ID("key"), key), chromedp.Click(chromedp.CSS(`#keyform button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	wait(tab2, "the readings after the key was typed", `document.getElementById("message").hidden &&
		/^[0-9,]+$/.test(document.getElementById("kpi-count")?.textContent) && document.getElementById("health").dataset.status === "ok"`)
	keyless.check(t, "tab without a key")
	keyless.mu.Lock()
	if keyless.status[401] == 0 {
		t.Error("the tab without a key never got a 401: the metrics are not behind the key")
	}
	keyless.mu.Unlock()
}
