package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/store"
)

type monitorFlags struct {
	cl                  clusterFlags
	status, watch, json bool
	url, key, database  string
	interval, recent    time.Duration
}

func newMonitorCmd() *cobra.Command {
	f := &monitorFlags{}
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Show a running service's health, resources, operations, model health and alerts",
		Long: `monitor shows what a gonomaly service's monitor knows: overall and per-component health, the
service's response time, throughput and error rate, process and machine resources, each
operation's count, rate and p50/p95/p99, each served detector's health (flagged share against
what it flagged in training, drift of its scores and features), active alerts with what to do, likely
bottlenecks, the database, and suspected leaks.

With --url it asks the service (GET /api/performance/metrics) for the live figures. Without,
it reads the store a service writes to (--database, default $GONOMALY_DATABASE_URL, else
sqlite:gonomaly.db): the last figures the service stored (every minute) and its active alerts.

With --nats it also shows the cluster on that NATS server: its queue and its workers, with the
jobs each runs and how far they got (rows done of the partition); with --nats alone, only that.

--status prints once; --watch redraws every --interval until interrupted. --json prints the
status as JSON (one document per line with --watch; with --nats, the cluster under "cluster").`,
		Example: `  gonomaly performance monitor --status --url http://127.0.0.1:8080
  GONOMALY_API_KEY=s3cret gonomaly perf monitor --watch --url http://10.0.0.5:8080 --interval 5s
  gonomaly performance monitor --status --database postgres://postgres@127.0.0.1:5432/test --json
  gonomaly perf monitor --watch --nats nats://127.0.0.1:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMonitor(cmd, f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.status, "status", false, "print the status once (the default)")
	fl.BoolVar(&f.watch, "watch", false, "redraw the status every --interval until interrupted")
	fl.BoolVar(&f.json, "json", false, "print the status as JSON on stdout")
	fl.StringVar(&f.url, "url", "", "the service's address, e.g. http://127.0.0.1:8080 (default: read the store instead)")
	fl.StringVar(&f.key, "api-key", "", "API key for the service (default $GONOMALY_API_KEY)")
	fl.StringVar(&f.database, "database", "", "without --url, the store to read (sqlite:FILE or postgres://...; default $GONOMALY_DATABASE_URL, else sqlite:gonomaly.db)")
	fl.DurationVar(&f.interval, "interval", 2*time.Second, "time between redraws with --watch (at least 100ms)")
	fl.DurationVar(&f.recent, "recent", 5*time.Minute, "without --url, how old the newest stored figures may be")
	f.cl.addWatch(fl, "also show the cluster (queue, workers, their jobs) on this NATS server")
	f.cl.fromEnv = false // shown only when asked for
	fl.Lookup("nats").Usage = "also show the cluster (queue, workers, their jobs) on this NATS server"
	return cmd
}

func runMonitor(cmd *cobra.Command, f *monitorFlags) error {
	switch {
	case f.status && f.watch:
		return usagef("--status and --watch: give one")
	case f.interval < 100*time.Millisecond:
		return usagef("--interval %v: must be at least 100ms", f.interval)
	case f.recent <= 0:
		return usagef("--recent %v: must be positive", f.recent)
	case f.url != "" && f.database != "":
		return usagef("--url and --database: give one (the service reads its own database)")
	}
	if f.key == "" {
		f.key = os.Getenv("GONOMALY_API_KEY")
	}
	ctx := cmd.Context()
	get, source, closeFn, err := f.withCluster(cmd)
	if err != nil {
		return err
	}
	defer closeFn()
	out := cmd.OutOrStdout()
	if !f.watch {
		s, err := get(ctx)
		if err != nil {
			return err
		}
		return f.print(out, s, source)
	}
	tty := false
	if file, ok := out.(*os.File); ok {
		tty = term.IsTerminal(int(file.Fd()))
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for {
		s, err := get(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if tty && !f.json {
			fmt.Fprint(out, "\033[H\033[2J") // home and clear: redraw in place
		}
		if err != nil {
			fmt.Fprintf(out, "%s: %v (retrying every %s)\n", time.Now().UTC().Format("15:04:05"), err, f.interval)
		} else if err := f.print(out, s, source); err != nil {
			return err
		}
		if !tty && !f.json {
			fmt.Fprintln(out)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// source returns how to read the status, and what to call it.
func (f *monitorFlags) source(ctx context.Context) (func(context.Context) (monitor.Status, error), string, func(), error) {
	if f.url != "" {
		client := &http.Client{Timeout: 10 * time.Second}
		return func(ctx context.Context) (monitor.Status, error) {
			return monitor.FetchStatus(ctx, client, f.url, f.key)
		}, f.url, func() {}, nil
	}
	url := f.database
	if url == "" {
		url = store.DefaultURL()
	}
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return nil, "", nil, fmt.Errorf("monitor: %w", err)
	}
	source := "store " + redactURL(url)
	return func(ctx context.Context) (monitor.Status, error) {
		s, ok, err := monitor.StatusFromStore(ctx, st, time.Now(), f.recent)
		if err != nil {
			return s, fmt.Errorf("monitor: %w", err)
		}
		if !ok {
			return s, fmt.Errorf("monitor: no figures in %s from the last %s: is a service (gonomaly serve) writing to it? Use --url to ask a service directly", redactURL(url), f.recent)
		}
		return s, nil
	}, source, func() { st.Close() }, nil
}

func (f *monitorFlags) print(w io.Writer, v monitorView, source string) error {
	if f.json {
		if v.cluster == nil {
			return writeJSON(w, v.status)
		}
		if v.status == nil {
			return writeJSON(w, map[string]any{"cluster": v.cluster})
		}
		return writeJSON(w, struct {
			*monitor.Status
			Cluster *cluster.Status `json:"cluster"`
		}{v.status, v.cluster})
	}
	if v.status != nil {
		if err := v.status.WriteText(w, source); err != nil {
			return err
		}
	}
	if v.cluster != nil {
		if v.status != nil {
			fmt.Fprintln(w)
		}
		return v.cluster.WriteText(w)
	}
	return nil
}
