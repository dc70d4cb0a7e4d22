package main

// Workers as real processes: one is killed with SIGKILL while it scores a partition, and the
// distributed run still ends with every row scored once, as one machine scores it.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/cluster/clustertest"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// workerProc is a `gonomaly worker` child process.
type workerProc struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startWorker(t *testing.T, natsURL, clusterName, name string, extra ...string) *workerProc {
	t.Helper()
	w := &workerProc{name: name, logs: &syncBuffer{}, done: make(chan error, 1)}
	args := append([]string{"worker", "--nats", natsURL, "--cluster", clusterName, "--name", name}, extra...)
	w.cmd = exec.Command(os.Args[0], args...)
	w.cmd.Env = append(os.Environ(), cliEnv+"=1")
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
	})
	return w
}

// writeSyntheticCSV writes rows x cols of labelled synthetic data.
func writeSyntheticCSV(t *testing.T, path string, rows, cols int, seed uint64) {
	t.Helper()
	X, labels := dataset.Synthetic(dataset.SyntheticConfig{Rows: rows, Cols: cols, Contamination: 0.02, Seed: seed})
	var b bytes.Buffer
	for j := range cols {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	for i := range X.Rows {
		for _, v := range X.Row(i) {
			fmt.Fprintf(&b, "%.6g,", v)
		}
		fmt.Fprintf(&b, "%d\n", labels[i])
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSIGKILLWorkerMidJob: three workers score a file in partitions; the one holding a
// partition is killed with SIGKILL; its partition goes to another worker after the ack wait,
// and the scores equal one machine's, every row once, in order.
func TestSIGKILLWorkerMidJob(t *testing.T) {
	natsURL := testsvc.NATSURL(t)
	dir := t.TempDir()
	data, train, model := filepath.Join(dir, "data.csv"), filepath.Join(dir, "train.csv"), filepath.Join(dir, "m.gnm")
	writeSyntheticCSV(t, data, 60000, 10, 7)
	writeSyntheticCSV(t, train, 3000, 10, 8)
	// one_class_svm scores a row against its ~1500 support vectors: slow enough that a
	// partition of 512 KiB takes a while, so the kill lands mid-job.
	if code, _, stderr := gonomaly(t, "train", "-a", "one_class_svm", "-i", train, "--label", "label", "-m", model); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	one := filepath.Join(dir, "one.csv")
	if code, _, stderr := gonomaly(t, "detect", "--model", model, "-i", data, "--label", "label", "-o", one); code != 0 {
		t.Fatalf("detect: %s", stderr)
	}

	conn, _ := clustertest.New(t, cluster.Options{AckWait: 2 * time.Second})
	name := conn.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	workers := map[string]*workerProc{}
	for _, n := range []string{"w1", "w2", "w3"} {
		workers[n] = startWorker(t, natsURL, name, n, "--ack-wait", "2s")
	}

	dist := filepath.Join(dir, "dist.csv")
	type result struct {
		code           int
		stdout, stderr string
	}
	res := make(chan result, 1)
	go func() {
		var so, se bytes.Buffer
		code := run(ctx, []string{"detect", "--model", model, "-i", data, "--label", "label", "-o", dist,
			"--distributed", natsURL, "--cluster", name, "--ack-wait", "2s", "--partition-size", "512KiB"}, &so, &se)
		res <- result{code, so.String(), se.String()}
	}()

	// Kill the first worker seen running a partition.
	var victim *cluster.JobState
	for victim == nil {
		select {
		case r := <-res:
			t.Fatalf("detect ended (%d) before any worker was seen running a partition: %s", r.code, r.stderr)
		case <-ctx.Done():
			t.Fatal("no partition ever ran")
		case <-time.After(20 * time.Millisecond):
		}
		states, err := conn.Jobs(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if s.State == cluster.StateRunning && workers[s.Worker] != nil {
				victim = s
				break
			}
		}
	}
	if err := workers[victim.Worker].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s while it ran partition %d (attempt %d)", victim.Worker, victim.Part+1, victim.Attempt)

	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		t.Fatal("the distributed detect never ended")
	}
	if r.code != 0 {
		t.Fatalf("detect --distributed: exit %d\n%s", r.code, r.stderr)
	}
	got, err := os.ReadFile(dist)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(one)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("distributed scores differ from one machine's: %d vs %d bytes", len(got), len(want))
	}
	final, err := conn.State(ctx, victim.Run, victim.Part)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != cluster.StateDone || final.Worker == victim.Worker || final.Attempt < 2 {
		t.Fatalf("the killed worker's partition ended %s by %s at attempt %d; want done by another worker on a later attempt",
			final.State, final.Worker, final.Attempt)
	}
	if !strings.Contains(r.stderr, "redone after a failure") {
		t.Errorf("detect's summary does not mention the redone partition:\n%s", r.stderr)
	}
	t.Logf("%s", lastLines(r.stderr, 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
