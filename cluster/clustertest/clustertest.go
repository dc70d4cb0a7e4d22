// Package clustertest gives tests a cluster of their own on the test NATS server
// (internal/testsvc), deleted when the test ends.
package clustertest

import (
	"context"
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
