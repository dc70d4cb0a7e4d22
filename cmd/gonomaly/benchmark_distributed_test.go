package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// startWorkerProcess runs `gonomaly worker` (this test binary as the CLI) on cluster name
// until the test ends, when it is stopped with SIGTERM as an operator would.
func startWorkerProcess(t *testing.T, url, name, worker string, env ...string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(os.Args[0], "worker", "--nats", url, "--cluster", name, "--name", worker, "--ack-wait", "5s", "--drain", "5s")
	cmd.Env = append(append(os.Environ(), cliEnv+"=1"), env...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("worker %s did not stop on SIGTERM:\n%s", worker, logs.String())
		}
		if t.Failed() {
			t.Logf("worker %s:\n%s", worker, logs.String())
		}
	})
}

// dropTestCluster deletes the stream and buckets of a test's cluster.
func dropTestCluster(t *testing.T, url, name string) {
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lower := strings.ToLower(name)
		_ = js.DeleteStream(ctx, strings.ToUpper(name)+"_JOBS")
		_ = js.DeleteKeyValue(ctx, lower+"_jobs")
		_ = js.DeleteKeyValue(ctx, lower+"_workers")
		_ = js.DeleteObjectStore(ctx, lower+"_data")
	})
}

// waitWorkers waits until n workers have joined cluster name.
func waitWorkers(t *testing.T, url, name string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := cluster.Connect(ctx, url, cluster.Options{Name: name, AckWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		if ws, err := conn.Workers(ctx); err == nil && len(ws) >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d workers did not join in 30 s", n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestBenchmarkDistributed runs `performance benchmark --distributed` over two `gonomaly
// worker` processes, one of them with GOMAXPROCS=1, which makes it another machine for
// timings: the document has every cell of the grid, in order, each measured in a child
// process of a worker and saying which worker, host and machine ran it; when both workers
// ran cells (as they do when both wait for jobs), the document, the scalability fit and the
// table warn that the timings are of two machines.
func TestBenchmarkDistributed(t *testing.T) {
	url := testsvc.NATSURL(t)
	name := "tbench" + cluster.NewRunID()
	// Cleanups run last first: the workers stop before the cluster goes.
	dropTestCluster(t, url, name)
	startWorkerProcess(t, url, name, "pw1")
	startWorkerProcess(t, url, name, "pw2", "GOMAXPROCS=1")
	waitWorkers(t, url, name, 2)
	args := []string{"performance", "benchmark", "--distributed", url, "--cluster", name, "--ack-wait", "5s",
		"--algorithms", "hbos", "ecod", "--sizes", "200,300,400", "--dims", "3", "--iterations", "2", "--warmup", "0", "--scalability", "--database", "none"}
	code, stdout, stderr := gonomaly(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc bench.BenchmarkDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"hbos/200x3/c0.1", "hbos/300x3/c0.1", "hbos/400x3/c0.1", "ecod/200x3/c0.1", "ecod/300x3/c0.1", "ecod/400x3/c0.1"}
	if !doc.Distributed || len(doc.Cells) != len(want) || !doc.Isolated {
		t.Fatalf("distributed %v, isolated %v, %d cells", doc.Distributed, doc.Isolated, len(doc.Cells))
	}
	host, _ := os.Hostname()
	by := map[string]bool{}
	for i, c := range doc.Cells {
		if c.ID != want[i] || c.Status != bench.StatusOK || c.Total == nil || c.Total.N != 2 || c.Memory == nil || c.Memory.RSSScope == "" {
			t.Errorf("cell %d: %+v", i, c)
		}
		if (c.Worker != "pw1" && c.Worker != "pw2") || c.Host != host || c.Machine == nil || c.Machine.Cores == 0 {
			t.Fatalf("cell %s ran on %q %q %+v", c.ID, c.Worker, c.Host, c.Machine)
		}
		if procs := map[string]int{"pw1": doc.Machine.GOMAXPROCS, "pw2": 1}[c.Worker]; c.Machine.GOMAXPROCS != procs {
			t.Errorf("cell %s by %s: GOMAXPROCS %d, want %d", c.ID, c.Worker, c.Machine.GOMAXPROCS, procs)
		}
		by[c.Worker] = true
	}
	const warn = "cells ran on 2 machines: timings are not comparable across them"
	switch {
	case len(by) == 1:
		t.Logf("one worker ran every cell: the machines warning is not tested")
		if len(doc.Machines) != 1 || doc.Machines[0].Cells != len(want) || doc.Warning != "" {
			t.Errorf("one machine: %+v, warning %q", doc.Machines, doc.Warning)
		}
	case len(doc.Machines) != 2 || doc.Machines[0].Cells+doc.Machines[1].Cells != len(want) || doc.Warning != warn:
		t.Errorf("two machines: %+v, warning %q", doc.Machines, doc.Warning)
	}

	// A scalability fit warns when its own cells ran on both.
	if len(doc.Scalability) != 2 {
		t.Fatalf("%d scalability fits", len(doc.Scalability))
	}
	for _, f := range doc.Scalability {
		series := map[string]bool{}
		for _, c := range doc.Cells {
			if c.Algorithm == f.Algorithm {
				series[c.Worker] = true
			}
		}
		if got := f.Warning != ""; got != (len(series) == 2) || (got && f.Warning != warn) {
			t.Errorf("fit of %s, cells by %v: warning %q", f.Algorithm, series, f.Warning)
		}
	}

	// The table: the machines and each cell's worker, the warning when there are two.
	code, _, stderr = gonomaly(t, args...)
	if code != 0 || !strings.Contains(stderr, "cells on "+host+" (") || !strings.Contains(stderr, "worker") ||
		(!strings.Contains(stderr, "pw1") && !strings.Contains(stderr, "pw2")) {
		t.Errorf("exit %d, table:\n%s", code, stderr)
	}
	if strings.Count(stderr, "cells on ") == 2 && !strings.HasSuffix(stderr, "\nwarning: "+warn+"\n") {
		t.Errorf("cells on two machines and no warning:\n%s", stderr)
	}
}

// TestBenchmarkDistributedUsage: what cannot run on a cluster is a usage error before
// anything is queued.
func TestBenchmarkDistributedUsage(t *testing.T) {
	base := []string{"performance", "benchmark", "--distributed", "nats://127.0.0.1:1", "--algorithms", "hbos", "--database", "none"}
	checkExits(t, []exitCase{
		{"parallel", append(base, "--parallel"), 2, "--parallel and --workers do not apply"},
		{"cpu profile", append(base, "--cpu-profile", t.TempDir()), 2, "CPU profiles would be written on the workers' machines"},
		{"ack wait", append(base, "--ack-wait", "1ms"), 2, "--ack-wait 1ms"},
	})
}
