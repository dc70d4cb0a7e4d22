package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
)

type workerFlags struct {
	cl       clusterFlags
	database string
	redis    string
	name     string
	slots    int
	drain    time.Duration
	logFmt   string
}

func newWorkerCmd() *cobra.Command {
	f := &workerFlags{}
	cmd := &cobra.Command{
		Use:   "worker --nats nats://host:4222",
		Short: "Run jobs of a cluster: partitions to score, detectors to fit, benchmark cells",
		Long: `worker joins a cluster's JetStream work queue on a NATS server and runs its jobs:
scoring one partition of a large file with a model ('gonomaly detect --distributed'),
running one cell of a benchmark suite ('gonomaly performance benchmark --distributed'),
and, with --database (and --redis, as the services have them), fitting a stored detector
for a 'gonomaly serve --nats' instance: the model is saved to the shared store and every
instance serves it at once.

A job is acknowledged only after its result is stored; while it runs the worker
heartbeats (JetStream in-progress acks), so a worker that dies has its job handed to
another after --ack-wait. A job that fails --max-deliver times is dead, its error kept.
The input files of score jobs must be on storage every worker sees at the same path.

SIGINT or SIGTERM: take no more jobs, finish the ones held (up to --drain), then stop;
a second signal, or the end of --drain, hands them back to the queue at once.
See docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWorker(cmd, f) },
	}
	fs := cmd.Flags()
	f.cl.add(fs, "nats", "NATS server URL, e.g. nats://127.0.0.1:4222")
	fs.StringVar(&f.name, "name", "", "this worker's name in the cluster (default host-pid)")
	fs.IntVar(&f.slots, "slots", 1, "jobs at once (each score job already uses every core)")
	fs.DurationVar(&f.drain, "drain", time.Minute, "on SIGINT/SIGTERM, how long to finish the jobs held")
	fs.StringVar(&f.logFmt, "log", "text", "log format on stderr: text or json")
	fs.StringVar(&f.database, "database", "", "the services' store, to run fit jobs (sqlite:FILE or postgres://...; empty: no fit jobs)")
	fs.StringVar(&f.redis, "redis", os.Getenv("GONOMALY_REDIS_URL"), "the services' Redis, so that a model fitted here reaches their caches (default $GONOMALY_REDIS_URL)")
	return cmd
}

func runWorker(cmd *cobra.Command, f *workerFlags) error {
	if f.cl.resolve() == "" {
		return usagef("--nats is required (or $%s)", EnvNATSURL)
	}
	if f.slots < 1 || f.slots > 64 {
		return usagef("--slots %d: must be between 1 and 64", f.slots)
	}
	if f.drain < 0 {
		return usagef("--drain %v: must not be negative", f.drain)
	}
	var h slog.Handler
	switch f.logFmt {
	case "text":
		h = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
	case "json":
		h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
	default:
		return usagef("--log %q: text or json", f.logFmt)
	}
	log := slog.New(h)
	ctx := cmd.Context()
	conn, err := f.cl.connect(ctx, "gonomaly worker "+f.name)
	if err != nil {
		return err
	}
	defer conn.Close()
	handlers := map[string]cluster.Handler{cluster.KindScore: cluster.ScoreHandler(conn), cluster.KindCell: cluster.CellHandler(conn)}
	if f.database != "" {
		st, err := store.Open(ctx, f.database, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		c, err := cache.New(ctx, cache.Options{RedisURL: f.redis, Logger: log})
		if err != nil {
			return err
		}
		defer c.Close()
		svc := serving.New(st, c, serving.Options{})
		defer svc.Close()
		handlers[cluster.KindFit] = cluster.FitHandler(conn, st, svc)
	} else if cmd.Flags().Changed("redis") {
		return usagef("--redis is for fit jobs, which need --database too")
	}
	w := &cluster.Worker{Conn: conn, Name: f.name, Slots: f.slots, Log: log, Handlers: handlers}
	// The jobs run under their own context: the first signal only stops the intake.
	work, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	go func() {
		select {
		case <-ctx.Done():
		case <-work.Done():
			return
		}
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		w.Stop()
		log.Info("worker: stopping: finishing the jobs held", "drain", f.drain)
		t := time.NewTimer(f.drain)
		defer t.Stop()
		select {
		case <-t.C:
			log.Warn("worker: --drain is over: handing the jobs held back to the queue")
		case <-again:
			log.Warn("worker: second signal: handing the jobs held back to the queue")
		case <-work.Done():
		}
		abandon()
	}()
	log.Info("worker: joined", "cluster", conn.Name(), "nats", f.cl.url, "slots", f.slots)
	if err := w.Run(work); err != nil && work.Err() == nil {
		return fmt.Errorf("worker: %w", err)
	}
	log.Info("worker: stopped")
	return nil
}
