package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// CellJob is one cell of a suite as another process runs it (RunCellJob): what to measure
// and how. It travels as JSON to a cluster's worker.
type CellJob struct {
	Spec           CellSpec `json:"spec"`
	TimeoutSeconds float64  `json:"timeout_seconds"`
	Isolate        bool     `json:"isolate"`
}

// Timeout is TimeoutSeconds as a Duration.
func (j CellJob) Timeout() time.Duration {
	return time.Duration(j.TimeoutSeconds * float64(time.Second))
}

// Validate checks a job received from elsewhere against the bounds a configuration has
// (Config.Validate: algorithm and parameters, contamination, sizes against this machine's
// memory, iterations, timeout). A job run elsewhere writes no files, so it may not ask for a
// CPU profile; nor does a suite's cell set a heap limit or a sampling interval. Errors wrap
// ErrConfig.
func (j CellJob) Validate() error {
	s := j.Spec
	if s.CPUProfile != "" || s.HeapLimit != 0 || s.SampleEvery != 0 {
		return fmt.Errorf("bench: cell %s: a cell run on another machine takes no CPU profile, heap limit or sampling interval: %w", s.ID(), ErrConfig)
	}
	cfg := Config{
		Algorithms: []Algorithm{s.Algorithm}, Contamination: []float64{s.Contamination},
		Dataset: s.Dataset, Label: s.Label, Iterations: s.Iterations, Warmup: s.Warmup,
		TimeoutSeconds: j.TimeoutSeconds, Isolate: j.Isolate, Seed: s.Seed, MemoryProfiling: s.Memory,
	}
	if s.Dataset == "" {
		cfg.Sizes, cfg.Dims = []int{s.Rows}, []int{s.Cols}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("cell %s: %w", s.ID(), err)
	}
	return nil
}

// CellExecutor runs a suite's cells somewhere other than this process: on a cluster's
// workers (cluster.Conn). Set it in Options.Executor.
type CellExecutor interface {
	// RunCells runs the jobs (each as RunCellJob does) and returns one Cell a job, in the
	// jobs' order, each with Worker, Host and Machine saying where it ran. A cell that
	// failed, passed its timeout or whose runner died is a Cell with that status and its
	// error (FailedCell), never an error of the run. The error is for the run as a whole
	// (ctx ending, the executor unreachable); the cells then returned hold the finished
	// ones, the others zero (no ID). report, when not nil, is called as cells finish with
	// how many have, and how many workers are running them (0: unknown).
	RunCells(ctx context.Context, jobs []CellJob, report func(done, workers int)) ([]Cell, error)
}

// runRemote is RunBenchmark with the cells run by opts.Executor.
func runRemote(ctx context.Context, cfg Config, opts Options) (*BenchmarkDoc, error) {
	switch {
	case cfg.CPUProfiling:
		return nil, fmt.Errorf("bench: CPU profiles of cells run on other machines would be written there: profile a local run: %w", ErrConfig)
	case cfg.Parallel:
		return nil, fmt.Errorf("bench: cells run on a cluster run as its workers take them, as many at once as the workers have slots: parallel execution does not apply: %w", ErrConfig)
	}
	specs := cfg.cells()
	jobs := make([]CellJob, len(specs))
	for i, s := range specs {
		jobs[i] = CellJob{Spec: s, TimeoutSeconds: cfg.TimeoutSeconds, Isolate: cfg.Isolate}
	}
	doc := &BenchmarkDoc{Header: opts.header(KindBenchmark, cfg.Name, cfg.Description, cfg.Seed, cfg.Isolate), Config: cfg, Distributed: true}
	tr := newTracker(opts.Reporter, len(specs))
	cells, err := opts.Executor.RunCells(ctx, jobs, tr.set)
	if err == nil && len(cells) != len(jobs) {
		err = fmt.Errorf("bench: the executor returned %d cells for %d", len(cells), len(jobs))
	}
	for _, c := range cells {
		if c.ID != "" {
			doc.Cells = append(doc.Cells, c)
		}
	}
	if doc.Cells == nil {
		doc.Cells = []Cell{}
	}
	doc.noteMachines()
	if err != nil {
		doc.finish()
		if ctx.Err() != nil {
			err = fmt.Errorf("bench: benchmark %s stopped: %w", cfg.Name, errors.Join(ctx.Err(), err))
		}
		return doc, err
	}
	if cfg.Scalability && cfg.Dataset == "" {
		doc.Scalability = scalabilityFits(&cfg, doc.Cells)
	}
	doc.finish()
	return doc, nil
}

// set reports done cells of all, from an executor, and the workers running them.
func (t *tracker) set(done, workers int) {
	if t == nil || t.r == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = done
	p := Progress{Done: done, Total: t.total, Workers: workers, Elapsed: time.Since(t.start)}
	if done > 0 {
		p.ETA = p.Elapsed / time.Duration(done) * time.Duration(t.total-done)
	}
	t.r.Report(p)
}

// CellMachine is one machine that ran cells of a document: a host and what it is. Two
// workers on one host with the same hardware and Go are one machine.
type CellMachine struct {
	Host    string   `json:"host"`
	Machine Machine  `json:"machine"`
	Workers []string `json:"workers"`
	Cells   int      `json:"cells"`
}

// machineKey identifies the machine a cell ran on ("" when the cell does not say: it ran on
// the document's machine, or its runner died before saying). The memory counts in whole GiB:
// a virtual machine's total moves by a few hundred KiB over time.
func machineKey(c *Cell) string {
	if c.Machine == nil {
		return ""
	}
	m := *c.Machine
	m.MemoryBytes = (m.MemoryBytes + 1<<29) >> 30
	return fmt.Sprintf("%s\x00%+v", c.Host, m)
}

// MachineID names the hardware and Go that cell c of d ran on, to tell apart timings that
// must not be pooled: the cell's own machine when a worker ran it, else the document's. Two
// machines alike (CPU model, cores, memory in whole GiB, Go, GOMAXPROCS, OS and arch) have
// one ID whatever their hosts.
func (d *BenchmarkDoc) MachineID(c *Cell) string {
	m := d.Machine
	if c.Machine != nil {
		m = *c.Machine
	}
	m.MemoryBytes = (m.MemoryBytes + 1<<29) >> 30
	return fmt.Sprintf("%+v", m)
}

// MachinesWarning is the warning of a statistic over cells that ran on n machines.
func MachinesWarning(n int) string {
	return fmt.Sprintf("cells ran on %d machines: timings are not comparable across them", n)
}

// noteMachines fills Machines from the cells and, when they ran on more than one, Warning.
func (d *BenchmarkDoc) noteMachines() {
	d.Machines, d.Warning = nil, ""
	at := map[string]int{}
	for i := range d.Cells {
		c := &d.Cells[i]
		k := machineKey(c)
		if k == "" {
			continue
		}
		j, ok := at[k]
		if !ok {
			j = len(d.Machines)
			at[k] = j
			d.Machines = append(d.Machines, CellMachine{Host: c.Host, Machine: *c.Machine})
		}
		m := &d.Machines[j]
		m.Cells++
		if c.Worker != "" && !slices.Contains(m.Workers, c.Worker) {
			m.Workers = append(m.Workers, c.Worker)
		}
	}
	if len(d.Machines) > 1 {
		d.Warning = MachinesWarning(len(d.Machines))
	}
}
