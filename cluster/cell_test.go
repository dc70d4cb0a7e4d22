package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/bench"
	_ "github.com/gonomaly/gonomaly/detector/hbos"
	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// cellChildArg makes the test binary serve one benchmark cell (bench.ServeChild) instead of
// running tests, as `gonomaly performance __cell` does: the cell handler's child process.
const cellChildArg = "__cluster_cell_child"

func init() {
	if len(os.Args) > 1 && os.Args[1] == cellChildArg {
		if err := bench.ServeChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// cellConn connects to the test NATS server as a cluster of its own, deleted when the test
// ends.
func cellConn(t *testing.T, opts Options) *Conn {
	t.Helper()
	opts.Name = "tcell" + NewRunID()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Connect(ctx, testsvc.NATSURL(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lower := strings.ToLower(c.opts.Name)
		_ = c.js.DeleteStream(ctx, c.stream.CachedInfo().Config.Name)
		_ = c.js.DeleteKeyValue(ctx, lower+"_jobs")
		_ = c.js.DeleteKeyValue(ctx, lower+"_workers")
		_ = c.js.DeleteObjectStore(ctx, lower+"_data")
		c.nc.Close()
	})
	return c
}

// cellWorkers runs n in-process workers with a cell handler (h wraps it when not nil) until
// the test ends.
func cellWorkers(t *testing.T, c *Conn, n int, wrap func(Handler) Handler) {
	t.Helper()
	h := CellHandler(c, os.Args[0], cellChildArg)
	if wrap != nil {
		h = wrap(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		w := &Worker{Conn: c, Name: fmt.Sprintf("cw%d", i+1), Handlers: map[string]Handler{KindCell: h}}
		wg.Go(func() { _ = w.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func cellJob(rows int) bench.CellJob {
	return bench.CellJob{Spec: bench.CellSpec{Algorithm: bench.Algorithm{Name: "hbos"}, Rows: rows, Cols: 3, Contamination: 0.1,
		Seed: 5, Iterations: 2, Warmup: 1, Memory: true}, TimeoutSeconds: 60, Isolate: true}
}

// TestRunCells runs five cells on two workers, each in a child process as a local run does:
// three that finish, one past an impossible timeout, one on a file that is not there. Every
// cell comes back in order, shaped as the local run's, saying which worker and machine ran
// it; the two that fail are failed cells, the others stand.
func TestRunCells(t *testing.T) {
	c := cellConn(t, Options{AckWait: 2 * time.Second})
	cellWorkers(t, c, 2, nil)
	jobs := []bench.CellJob{cellJob(200), cellJob(300), cellJob(400), cellJob(500), cellJob(600)}
	jobs[3].TimeoutSeconds = 0.001
	jobs[4].Spec.Dataset = filepath.Join(t.TempDir(), "missing.csv")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var reports [][2]int
	cells, err := c.RunCells(ctx, jobs, func(done, workers int) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, [2]int{done, workers})
	})
	if err != nil {
		t.Fatal(err)
	}
	local := bench.Options{Child: []string{os.Args[0], cellChildArg}}
	host, _ := os.Hostname()
	want := bench.CurrentMachine()
	for i, cell := range cells {
		l := local.RunCellJob(ctx, jobs[i])
		if cell.ID != l.ID || cell.Status != l.Status || cell.Iterations != l.Iterations || cell.Rows != l.Rows ||
			(cell.Total == nil) != (l.Total == nil) || (cell.Memory == nil) != (l.Memory == nil) || len(cell.Samples) != len(l.Samples) {
			t.Errorf("cell %d: %+v\nlocal: %+v", i, cell, l)
		}
		if !strings.HasPrefix(cell.Worker, "cw") || cell.Host != host || cell.Machine == nil || *cell.Machine != want {
			t.Errorf("cell %d ran on %q %q %+v", i, cell.Worker, cell.Host, cell.Machine)
		}
	}
	if cells[3].Status != bench.StatusTimeout || !strings.Contains(cells[3].Error, "timeout") {
		t.Errorf("cell past its timeout: %s %q", cells[3].Status, cells[3].Error)
	}
	if cells[4].Status != bench.StatusError || !strings.Contains(cells[4].Error, "missing.csv") {
		t.Errorf("cell of a missing file: %s %q", cells[4].Status, cells[4].Error)
	}
	for i := range 3 {
		if cells[i].Status != bench.StatusOK || cells[i].Total.N != 2 {
			t.Errorf("cell %d: %s %q", i, cells[i].Status, cells[i].Error)
		}
	}
	mu.Lock()
	if last := reports[len(reports)-1]; last[0] != 5 {
		t.Errorf("last report %v", last)
	}
	mu.Unlock()
	// Results are read once and gone.
	if l, err := c.data.List(ctx); !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Errorf("results left in the object store: %d, %v", len(l), err)
	}
}

// TestBenchmarkOnCluster runs a suite through bench with the cluster as its executor: one
// machine, no warning, every cell by a worker.
func TestBenchmarkOnCluster(t *testing.T) {
	c := cellConn(t, Options{AckWait: 2 * time.Second})
	cellWorkers(t, c, 2, nil)
	cfg, _ := bench.Suite("quick")
	cfg.Algorithms = []bench.Algorithm{{Name: "hbos"}}
	cfg.Sizes, cfg.Dims = []int{200, 300, 400}, []int{3}
	cfg.Iterations, cfg.Warmup, cfg.Scalability = 2, 0, true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	doc, err := bench.RunBenchmark(ctx, cfg, bench.Options{Executor: c})
	if err != nil {
		t.Fatal(err)
	}
	if !doc.Distributed || len(doc.Cells) != 3 || len(doc.Machines) != 1 || doc.Warning != "" || len(doc.Scalability) != 1 {
		t.Fatalf("document: distributed %v, %d cells, machines %+v, warning %q, %d fits", doc.Distributed, len(doc.Cells), doc.Machines, doc.Warning, len(doc.Scalability))
	}
	if doc.Machines[0].Cells != 3 || len(doc.Machines[0].Workers) == 0 {
		t.Errorf("machines %+v", doc.Machines)
	}
	for _, cell := range doc.Cells {
		if cell.Status != bench.StatusOK || cell.Worker == "" {
			t.Errorf("%s: %s %q by %q", cell.ID, cell.Status, cell.Error, cell.Worker)
		}
	}
}

// TestRunCellsDead: a cell whose job dies (a worker gives up on it for good, or its workers
// die on it) is a failed cell with the reason; the other cells of the run finish.
func TestRunCellsDead(t *testing.T) {
	c := cellConn(t, Options{AckWait: 2 * time.Second})
	cellWorkers(t, c, 1, func(h Handler) Handler {
		return func(ctx context.Context, job *Job, p *Progress) (string, error) {
			if job.Part == 1 {
				return "", Permanent(errors.New("the child process could not start"))
			}
			return h(ctx, job, p)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jobs := []bench.CellJob{cellJob(200), cellJob(300), cellJob(400)}
	bad := cellJob(500)
	bad.Spec.Iterations = 0 // refused by the worker: dead at once
	jobs = append(jobs, bad)
	cells, err := c.RunCells(ctx, jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cells[1].Status != bench.StatusError || !strings.Contains(cells[1].Error, "could not start") || cells[1].Worker != "cw1" {
		t.Errorf("dead cell: %+v", cells[1])
	}
	if cells[3].Status != bench.StatusError || !strings.Contains(cells[3].Error, "iterations 0") {
		t.Errorf("refused cell: %+v", cells[3])
	}
	if cells[0].Status != bench.StatusOK || cells[2].Status != bench.StatusOK {
		t.Errorf("the other cells: %s %s", cells[0].Status, cells[2].Status)
	}
}

// TestRunCellsUnanswered: a cell whose workers take it and die (here: fetched and never
// answered) MaxDeliver times is a failed cell saying so, through JetStream's advisory.
func TestRunCellsUnanswered(t *testing.T) {
	c := cellConn(t, Options{AckWait: 300 * time.Millisecond, MaxDeliver: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type out struct {
		cells []bench.Cell
		err   error
	}
	done := make(chan out, 1)
	go func() {
		cells, err := c.RunCells(ctx, []bench.CellJob{cellJob(200)}, nil)
		done <- out{cells, err}
	}()
	for {
		mb, err := c.cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for range mb.Messages() { // taken and never acknowledged: a worker killed mid-cell
		}
		select {
		case o := <-done:
			if o.err != nil {
				t.Fatal(o.err)
			}
			if cell := o.cells[0]; cell.Status != bench.StatusError || !strings.Contains(cell.Error, "handed out 2 times") || cell.ID != "hbos/200x3/c0.1" {
				t.Fatalf("cell %+v", cell)
			}
			return
		default:
		}
		if ctx.Err() != nil {
			t.Fatal("no advisory")
		}
	}
}

// TestCellHandlerRefuses: a spec that is not this job's, or does not parse, ends the job.
func TestCellHandlerRefuses(t *testing.T) {
	c := cellConn(t, Options{})
	h := CellHandler(c, os.Args[0], cellChildArg)
	for name, spec := range map[string]string{
		"not json":    `{`,
		"other's":     `{"spec": {"algorithm": "hbos", "rows": 10, "cols": 2, "contamination": 0.1, "iterations": 1}, "timeout_seconds": 5, "result": "cells/other/000000"}`,
		"profile":     `{"spec": {"algorithm": "hbos", "rows": 10, "cols": 2, "contamination": 0.1, "iterations": 1, "cpu_profile": "/tmp/x"}, "timeout_seconds": 5, "result": "cells/r/000000"}`,
		"bad timeout": `{"spec": {"algorithm": "hbos", "rows": 10, "cols": 2, "contamination": 0.1, "iterations": 1}, "timeout_seconds": -1, "result": "cells/r/000000"}`,
	} {
		_, err := h(context.Background(), &Job{Run: "r", Part: 0, Kind: KindCell, Spec: []byte(spec)}, &Progress{})
		if !IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

// FuzzCellSpec: a cell job's spec from the queue never panics the worker, and one accepted
// is within the bounds a benchmark configuration has.
func FuzzCellSpec(f *testing.F) {
	f.Add(`{"spec": {"algorithm": "hbos", "rows": 10, "cols": 2, "contamination": 0.1, "iterations": 1}, "timeout_seconds": 5, "isolate": true, "result": "cells/r/000000"}`)
	f.Add(`{"spec": {"algorithm": {"name": "hbos", "parameters": {"n_bins": "x"}}, "rows": 10, "cols": 2, "contamination": 0.1, "iterations": 1}, "timeout_seconds": 5, "result": "cells/r/000000"}`)
	f.Add(`{"spec": {"algorithm": "hbos", "dataset": "/etc/passwd", "contamination": 0.5, "iterations": 100000, "warmup": 3}, "timeout_seconds": 1e300, "result": "cells/r/000000"}`)
	f.Add(`{"spec": {"algorithm": "hbos", "rows": 9007199254740993, "cols": 9007199254740993, "contamination": 0.1, "iterations": 1}, "timeout_seconds": 5, "result": "cells/r/000000"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		spec, err := decodeCellSpec(&Job{Run: "r", Part: 0, Kind: KindCell, Spec: []byte(raw)})
		if err != nil {
			return
		}
		s := spec.Spec
		if s.Iterations < 1 || s.Iterations > bench.MaxIterations || s.Warmup < 0 || s.Warmup > bench.MaxIterations ||
			!(spec.TimeoutSeconds >= 1e-3) || spec.Timeout() > bench.MaxTimeout || s.CPUProfile != "" ||
			!(s.Contamination > 0 && s.Contamination <= 0.5) || (s.Dataset == "" && (s.Rows < 2 || s.Cols < 1 || s.Cols > bench.MaxDims)) {
			t.Fatalf("accepted %+v", spec)
		}
	})
}
