package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/cluster/clustertest"
)

// TestWorkerUsage: bad worker and --distributed flags are usage errors (exit 2) that say
// what to give.
func TestWorkerUsage(t *testing.T) {
	t.Setenv(EnvNATSURL, "")
	data := writeFile(t, "d.csv", "a,b\n1,2\n3,4\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"worker"}, "--nats is required"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:4222", "--slots", "0"}, "--slots 0"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:4222", "--log", "xml"}, "--log \"xml\""},
		{[]string{"worker", "--nats", "nats://127.0.0.1:4222", "--ack-wait", "1ms"}, "--ack-wait 1ms"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:4222", "--max-deliver", "0"}, "--max-deliver 0"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:4222", "--replicas", "9"}, "--replicas 9"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:4222", "--redis", "redis://127.0.0.1:6379/0"}, "need --database"},
		{[]string{"detect", "-a", "hbos", "-i", "-", "--distributed", "nats://127.0.0.1:4222"}, "not a file the workers can read"},
		{[]string{"detect", "-a", "hbos", "-i", data, "--distributed", "nats://127.0.0.1:4222", "--partition-size", "10"}, "at least 1KiB"},
	} {
		code, _, stderr := gonomaly(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestDistributedErrors: what cannot be scored on a cluster fails with a clear message, not a
// hang: a gzip file (not splittable), and a NATS server that is not there.
func TestDistributedErrors(t *testing.T) {
	gz := writeFile(t, "d.csv.gz", "\x1f\x8b\x08\x00")
	code, _, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", gz, "--distributed", "nats://127.0.0.1:4222")
	if code != 1 || !strings.Contains(stderr, "gzip") {
		t.Errorf("gzip input: exit %d, %q", code, stderr)
	}
	data := writeFile(t, "d.csv", "a,b\n1,2\n3,4\n5,6\n")
	model := writeFile(t, "m.gnm", "")
	if code, _, stderr := gonomaly(t, "train", "-a", "hbos", "-i", data, "-m", model); code != 0 {
		t.Fatal(stderr)
	}
	start := time.Now()
	code, _, stderr = gonomaly(t, "detect", "--model", model, "-i", data, "--distributed", "nats://127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "NATS at nats://127.0.0.1:1") || time.Since(start) > 30*time.Second {
		t.Errorf("no NATS server: exit %d after %v, %q", code, time.Since(start), stderr)
	}
}

// TestWorkerSIGTERM: an idle worker stopped with SIGTERM leaves the cluster's worker list and
// exits 0.
func TestWorkerSIGTERM(t *testing.T) {
	conn, natsURL := clustertest.New(t, cluster.Options{})
	name := conn.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := startWorker(t, natsURL, name, "leaver")
	for {
		ws, err := conn.Workers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the worker never joined: %s", w.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		w.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("worker exit: %v\n%s", err, w.logs.String())
		}
	case <-ctx.Done():
		t.Fatal("the worker did not stop on SIGTERM")
	}
	if ws, _ := conn.Workers(ctx); len(ws) != 0 {
		t.Fatalf("still listed: %+v", ws)
	}
}

// TestMonitorShowsWorkers: performance monitor --nats lists the workers with the job each
// runs and its progress, as text and as JSON.
func TestMonitorShowsWorkers(t *testing.T) {
	conn, natsURL := clustertest.New(t, cluster.Options{})
	name := conn.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clustertest.BusyWorker(t, conn, "busy") // released when the test ends
	if _, err := conn.Submit(ctx, clustertest.SlowJob, []any{1}); err != nil {
		t.Fatal(err)
	}
	var out string
	for {
		code, stdout, stderr := gonomaly(t, "performance", "monitor", "--nats", natsURL, "--cluster", name)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		out = stdout
		if strings.Contains(out, "250 rows of 1000 (25 %)") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the worker's job never showed:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, "cluster "+name+": 1 workers") || !strings.Contains(out, "busy") {
		t.Fatalf("monitor output:\n%s", out)
	}
	code, stdout, _ := gonomaly(t, "performance", "monitor", "--nats", natsURL, "--cluster", name, "--json")
	if code != 0 || !strings.Contains(stdout, `"cluster"`) || !strings.Contains(stdout, `"name":"busy"`) {
		t.Fatalf("--json: %d %s", code, stdout)
	}
}
