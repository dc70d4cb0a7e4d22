package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/cluster/clustertest"
)

// clusterAbsent excuses the 404 of a service without a cluster: the dashboard asks
// /api/v1/cluster at start and once a minute to learn whether there is one.
func clusterAbsent(kind, url string, status int) bool {
	return strings.HasSuffix(url, "/api/v1/cluster") && (status == 404 || kind == "log error")
}

// headless starts the browser the dashboard tests drive, at 1366x768.
func headless(ctx context.Context, t *testing.T) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
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
	return chromedp.NewExecAllocator(ctx, opts...)
}

// The dashboard of a service with a cluster shows the cluster: its name, the workers alive
// and the queue, and each worker with the job it runs and how far it got (250 rows of 1000
// here, with a progress bar), then the worker idle once the job is done; when the service's
// NATS connection closes, the section says so and the page's message does not. The dashboard
// of a service without a cluster keeps the section hidden.
func TestDashboardShowsCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	conn, url := clustertest.New(t, cluster.Options{})
	svcConn, err := cluster.Connect(ctx, url, cluster.Options{Name: conn.Name()}) // the service's own, closed below
	if err != nil {
		t.Fatal(err)
	}
	defer svcConn.Close()
	const key = "cluster-dash-key"
	e := newEnv(t, envOpts{key: key, cfg: func(c *Config) {
		c.Cluster = svcConn
		c.Monitor.Every = 200 * time.Millisecond
		c.Monitor.Sampler.Interval = 250 * time.Millisecond
	}})
	plain := newEnv(t, envOpts{key: key, cfg: func(c *Config) { c.Monitor.Every = 200 * time.Millisecond }})

	releaseJob := clustertest.BusyWorker(t, conn, "busy-worker")
	batch, err := conn.Submit(ctx, clustertest.SlowJob, []any{1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { // stop the batch's watch before the cluster goes, whatever happened
		done, cancel := context.WithCancel(ctx)
		cancel()
		_ = batch.Wait(done, nil, nil, 0)
	}()

	actx, stop := headless(ctx, t)
	defer stop()
	problems := &pageProblems{status: map[int]int{}}
	tab, closeTab := chromedp.NewContext(actx, chromedp.WithListener(problems.listen))
	defer closeTab()
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(e.http.URL+"/performance/dashboard?interval=0.5#key="+key)); err != nil {
		t.Fatalf("opening the dashboard: %v", err)
	}
	wait := func(tab context.Context, what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			problems.check(t, "dashboard")
			text, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2500)`))
			t.Fatalf("waiting for %s: %v\nthe page shows:\n%s", what, err, text)
		}
	}
	row := `[...document.querySelectorAll("#workers tbody tr")].find(r => r.cells[0].textContent === "busy-worker")`
	wait(tab, "the cluster's section with the worker at 250 rows of 1000", fmt.Sprintf(`(() => {
		const sec = document.getElementById("cluster");
		const row = %s;
		if (sec.hidden || sec.getBoundingClientRect().height === 0 || !row) return false;
		const bar = row.cells[6].querySelector("progress");
		return row.cells[6].textContent.includes("slow") && row.cells[6].textContent.includes("250 of 1,000 rows") &&
			!!bar && bar.value === 250 && bar.max === 1000 &&
			document.getElementById("cluster-name").textContent.includes(%q) &&
			/^1 worker alive · \d+ jobs queued · 1 running · 0 redelivered$/.test(document.getElementById("cluster-summary").textContent);
	})()`, row, conn.Name()))
	if shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100)); err == nil {
		if err := os.WriteFile(filepath.Join(artifactDir(t), "dashboard-cluster.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
	if msg, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("message").hidden ? "" : document.getElementById("message").textContent`)); msg != "" {
		t.Errorf("the page's message shows %q", msg)
	}

	// Done: the worker turns idle and counts the job.
	releaseJob()
	wctx2, wcancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel2()
	if err := batch.Wait(wctx2, nil, nil, 0); err != nil {
		t.Fatalf("the job: %v", err)
	}
	wait(tab, "the worker idle with one job done", fmt.Sprintf(`(() => {
		const row = %s;
		return !!row && row.cells[6].textContent === "idle" && row.cells[4].textContent === "1" && row.cells[5].textContent === "0";
	})()`, row))
	problems.check(t, "dashboard with a cluster")

	// The service's NATS connection closes: the section says so, the page's message stays
	// for the metrics, which still come.
	problems.mu.Lock()
	problems.allow = func(kind, url string, status int) bool {
		return strings.HasSuffix(url, "/api/v1/cluster") && (status == 503 || kind == "log error")
	}
	problems.mu.Unlock()
	svcConn.Close()
	wait(tab, "the section to tell that NATS does not answer", `(() => {
		const err = document.getElementById("cluster-error");
		return !document.getElementById("cluster").hidden && !err.hidden && err.textContent.includes("503") &&
			err.textContent.includes("the cluster's NATS server did not answer") && document.getElementById("message").hidden &&
			document.querySelectorAll("#workers tbody tr").length === 1;
	})()`)
	problems.check(t, "dashboard with NATS closed")

	// A service without a cluster: its answer of 404 keeps the section hidden.
	plainProblems := &pageProblems{status: map[int]int{}, allow: clusterAbsent}
	tab2, closeTab2 := chromedp.NewContext(tab, chromedp.WithListener(plainProblems.listen))
	defer closeTab2()
	if err := chromedp.Do(tab2, chromedp.Navigate(plain.http.URL+"/performance/dashboard?interval=0.5#key="+key)); err != nil {
		t.Fatal(err)
	}
	for asked := false; !asked; {
		plainProblems.mu.Lock()
		asked = plainProblems.status[404] > 0
		plainProblems.mu.Unlock()
		if ctx.Err() != nil {
			t.Fatal("the dashboard never asked the service without a cluster for it")
		}
		time.Sleep(50 * time.Millisecond)
	}
	wait(tab2, "a reading of the metrics", `/^[0-9,]+$/.test(document.getElementById("kpi-count")?.textContent || "")`)
	if got, err := chromedp.Run(tab2, chromedp.Evaluate[string](`(() => {
		const sec = document.getElementById("cluster");
		return sec.hidden + " " + sec.getBoundingClientRect().height + " " + document.getElementById("message").hidden;
	})()`)); err != nil || got != "true 0 true" {
		t.Errorf("without a cluster: section hidden, its height, no message: %q (%v), want true 0 true", got, err)
	}
	plainProblems.check(t, "dashboard without a cluster")
}
