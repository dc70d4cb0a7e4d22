// Package clustertest gives tests a cluster of their own on the test NATS server
// (internal/testsvc), deleted when the test ends.
package clustertest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// New connects to the test NATS server as a cluster named for this test alone (opts.Name is
// set when empty), whose stream and buckets are deleted, and the connection closed, when the
// test ends. It returns the connection and the server's URL.
func New(t testing.TB, opts cluster.Options) (*cluster.Conn, string) {
	t.Helper()
	url := testsvc.NATSURL(t)
	if opts.Name == "" {
		opts.Name = "t" + cluster.NewRunID()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := cluster.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Destroy(ctx)
		c.Close()
	})
	return c, url
}

// SlowJob is the job kind BusyWorker's worker runs.
const SlowJob = "slow"

// BusyWorker runs a worker named name on conn whose SlowJob handler reports 250 rows done of
// 1000 and then holds the job until release is called (or the worker stops), so that a test
// can watch a job in progress. The worker stops when the test ends, before the cluster New
// made is deleted. release may be called more than once.
func BusyWorker(t testing.TB, conn *cluster.Conn, name string) (release func()) {
	t.Helper()
	hold := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	w := &cluster.Worker{Conn: conn, Name: name, Log: slog.New(slog.DiscardHandler), Handlers: map[string]cluster.Handler{
		SlowJob: func(ctx context.Context, j *cluster.Job, p *cluster.Progress) (string, error) {
			p.SetTotal(1000)
			p.Add(250)
			select {
			case <-hold:
			case <-ctx.Done():
			}
			return "", nil
		}}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	t.Cleanup(func() { release(); cancel(); wg.Wait() })
	return release
}
