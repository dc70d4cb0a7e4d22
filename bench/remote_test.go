package bench_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
)

// twoHosts is a bench.CellExecutor that runs each cell here, in a child process, and says
// it ran on host a or b in turn, as two workers of a cluster would; the cell listed in fail
// is reported as a runner that died.
type twoHosts struct {
	opts  bench.Options
	fail  string
	mu    sync.Mutex
	calls []int
}

func (e *twoHosts) RunCells(ctx context.Context, jobs []bench.CellJob, report func(done, workers int)) ([]bench.Cell, error) {
	cells := make([]bench.Cell, len(jobs))
	for i, j := range jobs {
		if err := j.Validate(); err != nil {
			return nil, err
		}
		if j.Spec.ID() == e.fail {
			cells[i] = bench.FailedCell(j, errors.New("handed out 2 times and never finished"))
		} else {
			cells[i] = e.opts.RunCellJob(ctx, j)
			m := bench.CurrentMachine()
			cells[i].Machine = &m
			cells[i].Worker, cells[i].Host = []string{"w1", "w2"}[i%2], []string{"a", "b"}[i%2]
		}
		e.mu.Lock()
		e.calls = append(e.calls, i+1)
		e.mu.Unlock()
		report(i+1, 2)
	}
	return cells, nil
}

// TestExecutor runs a suite through an executor: the cells equal a local run's in shape, in
// grid order, each says where it ran, the document lists the machines and warns that the
// timings of two machines do not compare, in the document, its scalability fit and its table;
// a cell whose runner died is a failed cell, the others stand.
func TestExecutor(t *testing.T) {
	cfg := smallSuite()
	cfg.Algorithms = cfg.Algorithms[:1]
	cfg.Sizes = []int{200, 300, 400}
	cfg.Iterations, cfg.Warmup = 2, 0
	cfg.Scalability = true
	local, err := bench.RunBenchmark(context.Background(), cfg, bench.Options{Child: childCmd()})
	if err != nil {
		t.Fatal(err)
	}
	if local.Distributed || local.Machines != nil || local.Warning != "" || local.Scalability[0].Warning != "" {
		t.Fatalf("a local run says it was distributed: %v %v %q", local.Distributed, local.Machines, local.Warning)
	}

	ex := &twoHosts{opts: bench.Options{Child: childCmd()}}
	rec := &recorder{}
	doc, err := bench.RunBenchmark(context.Background(), cfg, bench.Options{Executor: ex, Reporter: rec})
	if err != nil {
		t.Fatal(err)
	}
	if !doc.Distributed || len(doc.Cells) != len(local.Cells) {
		t.Fatalf("distributed %v, %d cells, want %d", doc.Distributed, len(doc.Cells), len(local.Cells))
	}
	for i, c := range doc.Cells {
		l := local.Cells[i]
		if c.ID != l.ID || c.Status != bench.StatusOK || c.Iterations != l.Iterations || c.Total.N != l.Total.N ||
			(c.Memory == nil) != (l.Memory == nil) || (c.Accuracy == nil) != (l.Accuracy == nil) || len(c.Samples) != len(l.Samples) {
			t.Errorf("cell %d: %+v\nlocal: %+v", i, c, l)
		}
		if c.Worker == "" || c.Host == "" || c.Machine == nil {
			t.Errorf("cell %s does not say where it ran: %q %q %v", c.ID, c.Worker, c.Host, c.Machine)
		}
	}
	if len(doc.Machines) != 2 || doc.Machines[0].Host != "a" || doc.Machines[0].Cells != 2 || doc.Machines[1].Cells != 1 ||
		strings.Join(doc.Machines[0].Workers, ",") != "w1" {
		t.Errorf("machines %+v", doc.Machines)
	}
	const warn = "cells ran on 2 machines: timings are not comparable across them"
	if doc.Warning != warn {
		t.Errorf("warning %q", doc.Warning)
	}
	if len(doc.Scalability) != 1 || doc.Scalability[0].Warning != warn {
		t.Errorf("scalability %+v", doc.Scalability)
	}
	if last := rec.ps[len(rec.ps)-1]; last.Done != 3 || last.Total != 3 || last.Workers != 2 {
		t.Errorf("last progress %+v", last)
	}
	var b bytes.Buffer
	if err := doc.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "warning: "+warn); n != 2 {
		t.Errorf("the table warns %d times, want at the top and the end:\n%s", n, b.String())
	}
	if !strings.Contains(b.String(), "warning: scalability of hbos, 4 cols, c0.1: "+warn) || !strings.Contains(b.String(), "cells on a (") {
		t.Errorf("table:\n%s", b.String())
	}

	// One machine: no warning. A dead runner: a failed cell with its error, the rest kept.
	ex = &twoHosts{opts: bench.Options{Child: childCmd()}, fail: "hbos/300x4/c0.1"}
	cfg.Sizes = []int{200, 300}
	doc, err = bench.RunBenchmark(context.Background(), cfg, bench.Options{Executor: ex})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Cells[0].Status != bench.StatusOK || doc.Cells[1].Status != bench.StatusError ||
		!strings.Contains(doc.Cells[1].Error, "never finished") || doc.Cells[1].ID != "hbos/300x4/c0.1" {
		t.Fatalf("cells %+v", doc.Cells)
	}
	if len(doc.Machines) != 1 || doc.Warning != "" {
		t.Errorf("one machine: %+v %q", doc.Machines, doc.Warning)
	}
}

// TestExecutorRefuses: what cannot be run elsewhere is a configuration error, and a job from
// elsewhere is checked as a configuration is.
func TestExecutorRefuses(t *testing.T) {
	ex := &twoHosts{}
	for name, change := range map[string]func(*bench.Config){
		"cpu profile": func(c *bench.Config) { c.CPUProfiling, c.ProfileDir = true, t.TempDir() },
		"parallel":    func(c *bench.Config) { c.Parallel = true },
	} {
		cfg := smallSuite()
		change(&cfg)
		if _, err := bench.RunBenchmark(context.Background(), cfg, bench.Options{Executor: ex}); !errors.Is(err, bench.ErrConfig) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
	if len(ex.calls) != 0 {
		t.Errorf("cells ran: %v", ex.calls)
	}
	good := bench.CellJob{Spec: bench.CellSpec{Algorithm: bench.Algorithm{Name: "hbos"}, Rows: 100, Cols: 2, Contamination: 0.1, Iterations: 1}, TimeoutSeconds: 10}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*bench.CellJob){
		"algorithm":   func(j *bench.CellJob) { j.Spec.Algorithm.Name = "nope" },
		"parameter":   func(j *bench.CellJob) { j.Spec.Algorithm.Params = map[string]any{"n_bins": -1} },
		"rows":        func(j *bench.CellJob) { j.Spec.Rows = 1 },
		"huge":        func(j *bench.CellJob) { j.Spec.Rows, j.Spec.Cols = 1<<40, 1<<10 },
		"iterations":  func(j *bench.CellJob) { j.Spec.Iterations = 0 },
		"timeout":     func(j *bench.CellJob) { j.TimeoutSeconds = 0 },
		"profile":     func(j *bench.CellJob) { j.Spec.CPUProfile = "/etc/x" },
		"heap limit":  func(j *bench.CellJob) { j.Spec.HeapLimit = 1 },
		"label alone": func(j *bench.CellJob) { j.Spec.Label = "y" },
	} {
		j := good
		change(&j)
		if err := j.Validate(); !errors.Is(err, bench.ErrConfig) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
}
