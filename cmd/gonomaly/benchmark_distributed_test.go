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
func startWorkerProcess(t *testing.T, url, name, worker string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(os.Args[0], "worker", "--nats", url, "--cluster", name, "--name", worker, "--ack-wait", "5s", "--drain", "5s")
	cmd.Env = append(os.Environ(), cliEnv+"=1")
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

// TestBenchmarkDistributed runs `performance benchmark --distributed` over two `gonomaly
// worker` processes: the document has every cell of the grid, in order, each measured in a
// child process of a worker and saying which worker, host and machine ran it; the table
// shows the workers.
func TestBenchmarkDistributed(t *testing.T) {
	url := testsvc.NATSURL(t)
	name := "tbench" + cluster.NewRunID()
	// Cleanups run last first: the workers stop before the cluster goes.
	dropTestCluster(t, url, name)
	startWorkerProcess(t, url, name, "pw1")
	startWorkerProcess(t, url, name, "pw2")
	args := []string{"performance", "benchmark", "--distributed", url, "--cluster", name, "--ack-wait", "5s",
		"--algorithms", "hbos", "ecod", "--sizes", "200,300", "--dims", "3", "--iterations", "2", "--warmup", "0", "--database", "none"}
	code, stdout, stderr := gonomaly(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc bench.BenchmarkDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"hbos/200x3/c0.1", "hbos/300x3/c0.1", "ecod/200x3/c0.1", "ecod/300x3/c0.1"}
	if !doc.Distributed || len(doc.Cells) != len(want) || !doc.Isolated {
		t.Fatalf("distributed %v, isolated %v, %d cells", doc.Distributed, doc.Isolated, len(doc.Cells))
	}
	host, _ := os.Hostname()
	for i, c := range doc.Cells {
		if c.ID != want[i] || c.Status != bench.StatusOK || c.Total == nil || c.Total.N != 2 || c.Memory == nil || c.Memory.RSSScope == "" {
			t.Errorf("cell %d: %+v", i, c)
		}
		if (c.Worker != "pw1" && c.Worker != "pw2") || c.Host != host || c.Machine == nil || c.Machine.Cores == 0 {
			t.Errorf("cell %s ran on %q %q %+v", c.ID, c.Worker, c.Host, c.Machine)
		}
	}
	if len(doc.Machines) != 1 || doc.Machines[0].Cells != 4 || doc.Warning != "" {
		t.Errorf("one machine: %+v, warning %q", doc.Machines, doc.Warning)
	}

	// The table: the machine and each cell's worker.
	code, _, stderr = gonomaly(t, args...)
	if code != 0 || !strings.Contains(stderr, "cells on "+host+" (") || !strings.Contains(stderr, "worker") ||
		(!strings.Contains(stderr, "pw1") && !strings.Contains(stderr, "pw2")) {
		t.Errorf("exit %d, table:\n%s", code, stderr)
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
