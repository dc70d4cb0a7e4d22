package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/bench"
)

// CellSpec is the spec of a cell job: one cell of a benchmark suite with its timeout and
// isolation, and where its result goes.
type CellSpec struct {
	bench.CellJob
	Result string `json:"result"` // "cells/<run>/<part>"
}

func cellResultName(run string, part int) string { return fmt.Sprintf("cells/%s/%06d", run, part) }

// MaxCellBytes bounds a cell's result in the object store (a cell with its 100 samples and
// summaries takes a few KiB).
const MaxCellBytes = 1 << 20

// CellHandler returns the handler of cell jobs: it runs the cell as a local benchmark does
// (bench.Options.RunCellJob: in a child process, killed at the cell's timeout, when the
// suite isolates cells) and stores the document's cell, stamped with this machine, in the
// object store. A cell that fails or passes its timeout is a result like any other: the job
// is done and the cell says what happened. child is the command line of the child process
// (bench.ServeChild); without it, this executable's `performance __cell`, the gonomaly
// binary's hidden command.
func CellHandler(c *Conn, child ...string) Handler {
	return func(ctx context.Context, job *Job, p *Progress) (string, error) {
		spec, err := decodeCellSpec(job)
		if err != nil {
			return "", Permanent(err)
		}
		argv := child
		if len(argv) == 0 {
			exe, err := os.Executable()
			if err != nil {
				return "", Permanent(fmt.Errorf("finding this program to run the cell in a child process: %w", err))
			}
			argv = []string{exe, "performance", "__cell"}
		}
		p.SetTotal(1)
		opts := bench.Options{Child: argv}
		cell := opts.RunCellJob(ctx, spec.CellJob)
		if err := ctx.Err(); err != nil {
			return "", err // the worker is abandoning the job: another runs it whole
		}
		m := bench.CurrentMachine()
		cell.Machine = &m
		b, err := json.Marshal(cell)
		if err != nil {
			return "", Permanent(err)
		}
		if _, err := c.data.PutBytes(ctx, spec.Result, b); err != nil {
			return "", fmt.Errorf("storing the cell's result: %w", err)
		}
		p.Add(1)
		return spec.Result, nil
	}
}

// decodeCellSpec reads and checks a cell job's spec, outside input: it must be this job's
// and within a benchmark configuration's bounds (bench.CellJob.Validate).
func decodeCellSpec(job *Job) (*CellSpec, error) {
	var spec CellSpec
	if err := json.Unmarshal(job.Spec, &spec); err != nil {
		return nil, fmt.Errorf("cell spec: %w", err)
	}
	if spec.Result != cellResultName(job.Run, job.Part) {
		return nil, fmt.Errorf("cell spec: result %q is not this job's", clip(spec.Result))
	}
	if err := spec.CellJob.Validate(); err != nil {
		return nil, err
	}
	return &spec, nil
}

// RunCells runs benchmark cells on the cluster's workers and returns their cells in the
// jobs' order, each with the worker, host and machine that ran it. It makes *Conn a
// bench.CellExecutor (bench.Options.Executor). A cell whose job is dead (its workers died on
// it MaxDeliver times, or it could not run at all) or whose result cannot be read is a failed
// cell with that error, as a local run records a cell that failed: one cell never fails the
// suite. The error is for the run (the queue unreachable, ctx ending); the jobs not yet taken
// are then dropped and the cells returned hold those finished. report, when not nil, is
// called about every second with the cells finished and the workers alive.
func (c *Conn) RunCells(ctx context.Context, jobs []bench.CellJob, report func(done, workers int)) ([]bench.Cell, error) {
	if len(jobs) == 0 {
		return []bench.Cell{}, nil
	}
	run := NewRunID()
	specs := make([]any, len(jobs))
	for i, j := range jobs {
		specs[i] = CellSpec{CellJob: j, Result: cellResultName(run, i)}
	}
	b, err := c.SubmitRun(ctx, run, KindCell, specs)
	if err != nil {
		return nil, err
	}
	cells := make([]bench.Cell, len(jobs))
	gather := func(s *JobState) error {
		j := jobs[s.Part]
		var cell bench.Cell
		switch s.State {
		case StateDone:
			var err error
			if cell, err = c.cellResult(ctx, s, j); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				cell = bench.FailedCell(j, err)
			}
		default: // dead
			cell = bench.FailedCell(j, fmt.Errorf("cell %s on the cluster: %s", j.Spec.ID(), s.Error))
		}
		cell.Worker, cell.Host = s.Worker, s.Host
		cells[s.Part] = cell
		return nil
	}
	var tick func(RunProgress)
	if report != nil {
		tick = func(p RunProgress) { report(p.Done, p.Workers) }
	}
	if err := b.WaitEach(ctx, gather, tick, time.Second); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.Cancel(cctx)
		for i, cell := range cells {
			if cell.ID == "" {
				_ = c.data.Delete(cctx, cellResultName(run, i))
			}
		}
		return cells, err
	}
	return cells, nil
}

// cellResult reads, checks and deletes the result of a cell job done.
func (c *Conn) cellResult(ctx context.Context, s *JobState, j bench.CellJob) (bench.Cell, error) {
	var cell bench.Cell
	name := cellResultName(s.Run, s.Part)
	if s.Result != name {
		return cell, fmt.Errorf("cell %s: worker %s stored its result as %q", j.Spec.ID(), s.Worker, clip(s.Result))
	}
	info, err := c.data.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return cell, fmt.Errorf("cell %s: its result (by worker %s) is not in the cluster's object store (expired?)", j.Spec.ID(), s.Worker)
	}
	if err != nil {
		return cell, fmt.Errorf("cell %s: reading its result (by worker %s): %w", j.Spec.ID(), s.Worker, err)
	}
	if info.Size > MaxCellBytes {
		return cell, fmt.Errorf("cell %s: its result (by worker %s) is %d bytes, more than %d", j.Spec.ID(), s.Worker, info.Size, MaxCellBytes)
	}
	raw, err := c.data.GetBytes(ctx, name)
	if err != nil {
		return cell, fmt.Errorf("cell %s: reading its result (by worker %s): %w", j.Spec.ID(), s.Worker, err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&cell); err != nil {
		return bench.Cell{}, fmt.Errorf("cell %s: its result (by worker %s) does not decode: %w", j.Spec.ID(), s.Worker, err)
	}
	if cell.ID != j.Spec.ID() {
		return bench.Cell{}, fmt.Errorf("cell %s: worker %s's result is of cell %q", j.Spec.ID(), s.Worker, clip(cell.ID))
	}
	_ = c.data.Delete(ctx, name)
	return cell, nil
}

var _ bench.CellExecutor = (*Conn)(nil)
