package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/cluster/clustertest"
)

// cluster status shows the queue; cluster delete refuses while jobs are queued, deletes with
// --force, and then the cluster's stream is gone from the NATS server.
func TestClusterStatusAndDelete(t *testing.T) {
	conn, natsURL := clustertest.New(t, cluster.Options{})
	name := conn.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.Submit(ctx, "slow", []any{1, 2}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := gonomaly(t, "cluster", "status", "--nats", natsURL, "--cluster", name)
	if code != 0 || !strings.Contains(stdout, "cluster "+name+": 0 workers, 2 jobs queued, 0 running") {
		t.Fatalf("status: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = gonomaly(t, "cluster", "status", "--nats", natsURL, "--cluster", name, "--json")
	if code != 0 || !strings.Contains(stdout, `"queued": 2`) {
		t.Fatalf("status --json: exit %d\n%s%s", code, stdout, stderr)
	}

	code, _, stderr = gonomaly(t, "cluster", "delete", "--nats", natsURL, "--cluster", name)
	if code != 1 || !strings.Contains(stderr, "0 workers alive, 2 jobs queued and 0 running: stop them first, or give --force") {
		t.Fatalf("delete with jobs queued: exit %d, %s", code, stderr)
	}
	streamName := strings.ToUpper(name) + "_JOBS"
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, streamName); err != nil {
		t.Fatalf("the refused delete deleted the stream: %v", err)
	}

	code, stdout, stderr = gonomaly(t, "cluster", "delete", "--nats", natsURL, "--cluster", name, "--force")
	if code != 0 || !strings.Contains(stdout, "deleted cluster "+name) {
		t.Fatalf("delete --force: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := js.Stream(ctx, streamName); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("after delete, looking the stream up gave %v, want ErrStreamNotFound", err)
	}
	if _, err := js.KeyValue(ctx, strings.ToLower(name)+"_jobs"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("after delete, the job states bucket: %v, want ErrBucketNotFound", err)
	}
	// Looking at a cluster that is not there says so, and creates nothing.
	code, _, stderr = gonomaly(t, "cluster", "status", "--nats", natsURL, "--cluster", name)
	if code != 1 || !strings.Contains(stderr, "cluster "+name+" is not on this server") {
		t.Fatalf("status of a deleted cluster: exit %d, %s", code, stderr)
	}
	if _, err := js.Stream(ctx, streamName); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("status recreated the stream: %v", err)
	}
}

// Watching a cluster changes none of its settings: a monitor's defaults must not reset the
// queue's ack wait that the workers were started with.
func TestClusterStatusKeepsSettings(t *testing.T) {
	conn, natsURL := clustertest.New(t, cluster.Options{AckWait: 7 * time.Minute, MaxDeliver: 9})
	name := conn.Name()
	for _, args := range [][]string{
		{"cluster", "status", "--nats", natsURL, "--cluster", name},
		{"performance", "monitor", "--nats", natsURL, "--cluster", name},
	} {
		if code, stdout, stderr := gonomaly(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	again, err := cluster.Connect(ctx, natsURL, cluster.Options{Name: name, Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if o := again.Options(); o.AckWait != 7*time.Minute || o.MaxDeliver != 9 {
		t.Fatalf("after status and monitor: ack wait %v, max deliver %d; want 7m and 9 as the cluster was made", o.AckWait, o.MaxDeliver)
	}
}

func TestClusterCmdUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "status"}, "--nats is required"},
		{[]string{"cluster", "delete", "--nats", "nats://127.0.0.1:4222"}, "--cluster is required"},
		{[]string{"cluster", "status", "--nats", "nats://127.0.0.1:4222", "--ack-wait", "1m"}, "unknown flag: --ack-wait"},
	} {
		t.Setenv(EnvNATSURL, "")
		code, _, stderr := gonomaly(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
