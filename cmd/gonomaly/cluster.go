package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/cluster"
)

// EnvNATSURL names the NATS server of the cluster when --nats is not given.
const EnvNATSURL = "GONOMALY_NATS_URL"

// clusterFlags are the flags of every command that joins a cluster.
type clusterFlags struct {
	url        string
	name       string
	ackWait    time.Duration
	maxDeliver int
	replicas   int
	fromEnv    bool
	// existing: the command only looks at (or deletes) a cluster that exists, changing none of
	// its settings (addWatch).
	existing bool
}

// add registers the flags; urlFlag names the URL's flag ("nats" for the worker and serve,
// "distributed" for detect and benchmark, which take no URL from the environment: they
// change what the command does).
func (c *clusterFlags) add(fs *pflag.FlagSet, urlFlag, urlUsage string) {
	c.fromEnv = urlFlag == "nats"
	if c.fromEnv {
		urlUsage += " (or $" + EnvNATSURL + ")"
	}
	fs.StringVar(&c.url, urlFlag, "", urlUsage)
	fs.StringVar(&c.name, "cluster", cluster.DefaultName, "name of the cluster on that NATS server (its stream and buckets)")
	fs.DurationVar(&c.ackWait, "ack-wait", cluster.DefaultAckWait, "a job silent this long (no heartbeat) goes to another worker; every party of a cluster must agree")
	fs.IntVar(&c.maxDeliver, "max-deliver", cluster.DefaultMaxDeliver, "attempts of a job before it is dead; every party of a cluster must agree")
	fs.IntVar(&c.replicas, "replicas", 1, "NATS servers that keep each of the cluster's streams and buckets (3 on a three-node NATS cluster)")
}

// addWatch registers the flags of a command that only looks at a cluster, or deletes it
// (cluster status and delete, performance monitor): the URL and the name. It connects to the
// cluster as it is, changing none of its settings (a monitor started with other --ack-wait
// than the workers' would otherwise reset the queue's), so the job settings' flags are
// not offered.
func (c *clusterFlags) addWatch(fs *pflag.FlagSet, urlUsage string) {
	c.fromEnv, c.existing = true, true
	fs.StringVar(&c.url, "nats", "", urlUsage+" (or $"+EnvNATSURL+")")
	fs.StringVar(&c.name, "cluster", cluster.DefaultName, "name of the cluster on that NATS server (its stream and buckets)")
}

// resolve fills the URL from the environment when the flag was given empty or not at all.
func (c *clusterFlags) resolve() string {
	if c.url == "" && c.fromEnv {
		c.url = os.Getenv(EnvNATSURL)
	}
	return c.url
}

func (c *clusterFlags) connect(ctx context.Context, client string) (*cluster.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if c.existing {
		return cluster.Connect(cctx, c.resolve(), cluster.Options{Name: c.name, Client: client, Existing: true})
	}
	if c.ackWait < 200*time.Millisecond || c.ackWait > time.Hour {
		return nil, usagef("--ack-wait %v: must be between 200ms and 1h", c.ackWait)
	}
	if c.maxDeliver < 1 || c.maxDeliver > 100 {
		return nil, usagef("--max-deliver %d: must be between 1 and 100", c.maxDeliver)
	}
	if c.replicas < 1 || c.replicas > 5 {
		return nil, usagef("--replicas %d: must be between 1 and 5", c.replicas)
	}
	return cluster.Connect(cctx, c.resolve(), cluster.Options{Name: c.name, AckWait: c.ackWait, MaxDeliver: c.maxDeliver, Replicas: c.replicas, Client: client})
}
