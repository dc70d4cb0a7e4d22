package cluster

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultName is the cluster a Conn joins when Options.Name is empty: one NATS account may
// hold several clusters (tests use one each), their streams and buckets named apart.
const DefaultName = "gonomaly"

// Defaults of the work queue (Options).
const (
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 5
	DefaultRetention  = 24 * time.Hour
	// workerTTL is how long a worker's record outlives its last heartbeat.
	workerTTL = 15 * time.Second
)

// Options configure a connection to a cluster. The zero value gives the defaults. Every party
// of one cluster (workers, coordinators, services) should use the same AckWait and MaxDeliver:
// whoever connects last sets the queue's.
type Options struct {
	// Name names the cluster: its stream, consumer and buckets ([A-Za-z0-9_-], at most 32).
	Name string
	// AckWait is how long a job may go without a heartbeat before JetStream hands it to
	// another worker (a worker heartbeats every AckWait/4 while it works).
	AckWait time.Duration
	// MaxDeliver is how many times a job is handed out before it is dead (its error kept).
	MaxDeliver int
	// Retention is how long job states and results are kept.
	Retention time.Duration
	// Replicas is how many NATS servers of a NATS cluster keep each stream and bucket
	// (1 to 5; default 1, a single server). Use 3 on a three-node NATS cluster, so that a
	// node lost loses no job, state or result.
	Replicas int
	// Client names this connection in the server's monitoring (for example "worker w1").
	Client string
	// Existing connects to a cluster that must exist already and changes nothing of it: for
	// those who only look (status, monitors) or delete. AckWait, MaxDeliver and Replicas are
	// then read from the cluster, not set.
	Existing bool
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (o *Options) fill() error {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if !validName.MatchString(o.Name) {
		return fmt.Errorf("cluster name %q: use 1 to 32 letters, digits, '-' or '_'", o.Name)
	}
	if o.AckWait == 0 {
		o.AckWait = DefaultAckWait
	}
	if o.AckWait < 200*time.Millisecond || o.AckWait > time.Hour {
		return fmt.Errorf("ack wait %v: must be between 200ms and 1h", o.AckWait)
	}
	if o.MaxDeliver == 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.MaxDeliver < 1 || o.MaxDeliver > 100 {
		return fmt.Errorf("max deliver %d: must be between 1 and 100", o.MaxDeliver)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return fmt.Errorf("replicas %d: must be between 1 and 5", o.Replicas)
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < time.Minute {
		return fmt.Errorf("retention %v: must be at least a minute", o.Retention)
	}
	return nil
}

// Conn is a connection to a cluster: the JetStream work queue of its jobs, the key-value
// buckets of job states and worker heartbeats, and the object store of models, inputs and
// results. It is safe for concurrent use.
type Conn struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	cons    jetstream.Consumer
	jobs    jetstream.KeyValue
	workers jetstream.KeyValue
	data    jetstream.ObjectStore
	opts    Options
}

// Connect connects to the NATS server at url and makes sure the cluster's stream, consumer
// and buckets exist (creating or updating them; safe when several parties start at once).
func Connect(ctx context.Context, url string, opts Options) (*Conn, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if url == "" {
		return nil, errors.New("no NATS URL (nats://host:4222)")
	}
	client := opts.Client
	if client == "" {
		client = "gonomaly"
	}
	nc, err := nats.Connect(url, nats.Name(client), nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
	if err != nil {
		return nil, fmt.Errorf("NATS at %s: %w", redactURL(url), err)
	}
	c, err := setup(ctx, nc, opts)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("NATS at %s: %w", redactURL(url), err)
	}
	return c, nil
}

func setup(ctx context.Context, nc *nats.Conn, opts Options) (*Conn, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	if opts.Existing {
		return open(ctx, nc, js, opts)
	}
	c := &Conn{nc: nc, js: js, opts: opts}
	lower := strings.ToLower(opts.Name)
	c.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        strings.ToUpper(opts.Name) + "_JOBS",
		Description: "gonomaly jobs of cluster " + opts.Name,
		Subjects:    []string{lower + ".jobs.>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
		MaxAge:      opts.Retention,
		Replicas:    opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("JetStream stream of cluster %s (is JetStream enabled, nats-server -js?): %w", opts.Name, err)
	}
	c.cons, err = c.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       "workers",
		Description:   "gonomaly workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		MaxDeliver:    opts.MaxDeliver,
		FilterSubject: lower + ".jobs.>",
		MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("JetStream consumer of cluster %s: %w", opts.Name, err)
	}
	c.jobs, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: lower + "_jobs", Description: "gonomaly job states", TTL: opts.Retention, Storage: jetstream.FileStorage, Replicas: opts.Replicas})
	if err != nil {
		return nil, fmt.Errorf("job state bucket of cluster %s: %w", opts.Name, err)
	}
	c.workers, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: lower + "_workers", Description: "gonomaly worker heartbeats", TTL: workerTTL, Storage: jetstream.MemoryStorage, Replicas: opts.Replicas})
	if err != nil {
		return nil, fmt.Errorf("worker bucket of cluster %s: %w", opts.Name, err)
	}
	c.data, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: lower + "_data", Description: "gonomaly models, inputs and results", TTL: opts.Retention, Storage: jetstream.FileStorage, Replicas: opts.Replicas})
	if err != nil {
		return nil, fmt.Errorf("object store of cluster %s: %w", opts.Name, err)
	}
	return c, nil
}

// ErrNoCluster reports that the cluster asked for with Options.Existing is not on the server.
var ErrNoCluster = errors.New("no such cluster")

// open looks up an existing cluster's stream, consumer and buckets, creating or updating
// none, and reads the cluster's settings from them.
func open(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, opts Options) (*Conn, error) {
	c := &Conn{nc: nc, js: js, opts: opts}
	lower := strings.ToLower(opts.Name)
	var err error
	if c.stream, err = js.Stream(ctx, strings.ToUpper(opts.Name)+"_JOBS"); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: cluster %s is not on this server (a worker, detect --distributed or serve --nats creates it)", ErrNoCluster, opts.Name)
		}
		return nil, fmt.Errorf("JetStream stream of cluster %s (is JetStream enabled, nats-server -js?): %w", opts.Name, err)
	}
	if c.cons, err = c.stream.Consumer(ctx, "workers"); err != nil {
		return nil, fmt.Errorf("JetStream consumer of cluster %s: %w", opts.Name, err)
	}
	if c.jobs, err = js.KeyValue(ctx, lower+"_jobs"); err != nil {
		return nil, fmt.Errorf("job state bucket of cluster %s: %w", opts.Name, err)
	}
	if c.workers, err = js.KeyValue(ctx, lower+"_workers"); err != nil {
		return nil, fmt.Errorf("worker bucket of cluster %s: %w", opts.Name, err)
	}
	if c.data, err = js.ObjectStore(ctx, lower+"_data"); err != nil {
		return nil, fmt.Errorf("object store of cluster %s: %w", opts.Name, err)
	}
	cc := c.cons.CachedInfo().Config
	c.opts.AckWait, c.opts.MaxDeliver = cc.AckWait, cc.MaxDeliver
	c.opts.Replicas, c.opts.Retention = c.stream.CachedInfo().Config.Replicas, c.stream.CachedInfo().Config.MaxAge
	return c, nil
}

// Name is the cluster's name.
func (c *Conn) Name() string { return c.opts.Name }

// Options returns the options in force, defaults filled in.
func (c *Conn) Options() Options { return c.opts }

// Close closes the connection, after flushing what it has sent.
func (c *Conn) Close() {
	_ = c.nc.Drain()
}

// subject is the subject of a job of kind in run.
func (c *Conn) subject(kind, run string) string {
	return strings.ToLower(c.opts.Name) + ".jobs." + kind + "." + run
}

// advisorySubject is where JetStream says a job was handed out MaxDeliver times unanswered.
func (c *Conn) advisorySubject() string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + c.stream.CachedInfo().Config.Name + ".workers"
}

// redactURL drops a password from a NATS URL for messages.
func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// Destroy deletes the cluster's stream and buckets: every queued job, job state, worker
// record, model and result. Workers still running recreate them empty when they reconnect.
// Tests use it to leave nothing behind.
func (c *Conn) Destroy(ctx context.Context) error {
	lower := strings.ToLower(c.opts.Name)
	return errors.Join(
		c.js.DeleteStream(ctx, c.stream.CachedInfo().Config.Name),
		c.js.DeleteKeyValue(ctx, lower+"_jobs"),
		c.js.DeleteKeyValue(ctx, lower+"_workers"),
		c.js.DeleteObjectStore(ctx, lower+"_data"),
	)
}
