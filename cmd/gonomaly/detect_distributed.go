package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/detector"
)

// distributedFlags are detect's flags for scoring on a cluster's workers.
type distributedFlags struct {
	cl       clusterFlags
	partSize byteSize
}

func (d *distributedFlags) register(fs *pflag.FlagSet) {
	d.cl.add(fs, "distributed", "score on the workers of the cluster at this NATS URL, e.g. nats://127.0.0.1:4222: the input must be on storage every worker sees at the same path")
	d.partSize = cluster.DefaultPartBytes
	fs.Var(&d.partSize, "partition-size", "with --distributed, bytes of input per partition (a worker's job): CSV byte ranges, or whole Parquet row groups")
	fs.Lookup("partition-size").DefValue = formatSize(cluster.DefaultPartBytes)
}

// on reports whether detect scores on a cluster.
func (d *distributedFlags) on() bool { return d.cl.resolve() != "" }

// scoreDistributed scores every row of --input with m on the cluster's workers, partition by
// partition, gathering the scores in input order into out (if any) and, for the metrics,
// keeping scores and labels while they number at most keepRows.
func (f *detectFlags) scoreDistributed(ctx context.Context, w io.Writer, prog *progress, m *detector.Model, out *scoreFile, keepRows int64) (*streamed, error) {
	layout, err := cluster.Split(f.input, f.label, int64(f.dist.partSize))
	if err != nil {
		return nil, err
	}
	conn, err := f.dist.cl.connect(ctx, "gonomaly detect")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	keep := f.label != ""
	drop := new(atomic.Bool)
	sink := &detectSink{out: out, keep: keep, max: keepRows, drop: drop}
	var labels []int
	prog.step("score", "rows", "scoring %s on cluster %s", f.input, conn.Name())
	parts := len(layout.Parts)
	seenWorkers := false
	req := cluster.ScoreRequest{Layout: layout, Model: m, Label: f.label, ChunkRows: f.chunk,
		Progress: func(p cluster.RunProgress) {
			if p.Workers == 0 && !seenWorkers && p.Elapsed.Seconds() >= 5 && !prog.on {
				fmt.Fprintf(w, "note: no worker has joined cluster %s yet: start 'gonomaly worker --nats %s --cluster %s'\n", conn.Name(), f.dist.cl.url, conn.Name())
				seenWorkers = true
			}
			seenWorkers = seenWorkers || p.Workers > 0
			prog.report(fmt.Sprintf("%d/%d partitions, %d workers", p.Done, parts, p.Workers), p.Rows, p.Total)
		}}
	flags := []bool{}
	sum, err := conn.Score(ctx, req, func(ps *cluster.PartScores) error {
		flags = flags[:0]
		for _, s := range ps.Scores {
			flags = append(flags, m.IsAnomaly(s))
		}
		if keep && !drop.Load() {
			if int64(len(labels)+len(ps.Labels)) > keepRows {
				drop.Store(true)
				labels = nil
			} else {
				labels = append(labels, ps.Labels...)
			}
		}
		return sink.Write(ps.Scores, flags)
	})
	prog.clear()
	if err != nil {
		return nil, err
	}
	st := &streamed{rows: int(sum.Rows), seconds: sum.Seconds, anomalies: sink.anomalies}
	if keep {
		if drop.Load() || sink.dropped {
			st.skipped = true
		} else {
			st.scores, st.labels = sink.scores, labels
		}
	}
	fmt.Fprintf(w, "%-18s %d partitions on %d workers (%s), run %s", "distributed", sum.Parts, len(sum.ByWorker), workerCounts(sum.ByWorker), sum.Run)
	if sum.Retried > 0 {
		fmt.Fprintf(w, ", %d redone after a failure", sum.Retried)
	}
	fmt.Fprintln(w)
	if len(sum.Machines) > 1 {
		fmt.Fprintf(w, "note: the partitions were scored on %d different machines: %v\n", len(sum.Machines), sum.Machines)
	}
	return st, nil
}

func workerCounts(by map[string]int) string {
	s := ""
	for _, name := range slices.Sorted(maps.Keys(by)) {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s: %d", name, by[name])
	}
	return s
}
