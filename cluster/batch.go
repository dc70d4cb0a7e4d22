package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Batch is a run of jobs of one kind submitted together, and waited for together.
type Batch struct {
	c      *Conn
	Run    string
	Kind   string
	N      int
	seqs   map[uint64]int // stream sequence -> part, for the max-deliveries advisory
	w      jetstream.KeyWatcher
	sub    *nats.Subscription
	adv    chan *nats.Msg
	states []*JobState
	start  time.Time
}

// DeadError is the error of a run one of whose jobs is dead.
type DeadError struct {
	Run   string
	Part  int
	Kind  string
	Err   string
	State *JobState
}

func (e *DeadError) Error() string {
	return fmt.Sprintf("job %d of %s run %s is dead: %s", e.Part+1, e.Kind, e.Run, e.Err)
}

// NewRunID returns a new run id: 16 random hex digits.
func NewRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Submit puts one job of kind a spec on the queue (spec i becomes part i of a new run) and
// returns the batch to wait for. Submitting is idempotent per job (JetStream drops a
// duplicate of a message id within two minutes).
func (c *Conn) Submit(ctx context.Context, kind string, specs []any) (*Batch, error) {
	return c.SubmitRun(ctx, NewRunID(), kind, specs)
}

// SubmitRun is Submit with the run id given.
func (c *Conn) SubmitRun(ctx context.Context, run, kind string, specs []any) (_ *Batch, err error) {
	if !validRun.MatchString(run) || !validKind.MatchString(kind) {
		return nil, fmt.Errorf("run %q or kind %q not valid", clip(run), clip(kind))
	}
	if len(specs) == 0 || len(specs) > MaxParts {
		return nil, fmt.Errorf("%d jobs: a run holds 1 to %d", len(specs), MaxParts)
	}
	b := &Batch{c: c, Run: run, Kind: kind, N: len(specs), seqs: map[uint64]int{}, states: make([]*JobState, len(specs)),
		adv: make(chan *nats.Msg, 64), start: time.Now()}
	// Watch before publishing, so that no state is missed.
	if b.w, err = c.jobs.Watch(ctx, run+".*", jetstream.UpdatesOnly()); err != nil {
		return nil, fmt.Errorf("watching run %s: %w", run, err)
	}
	if b.sub, err = c.nc.ChanSubscribe(c.advisorySubject(), b.adv); err != nil {
		_ = b.w.Stop()
		return nil, err
	}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	now := time.Now().UTC()
	for i, spec := range specs {
		raw, err := json.Marshal(spec)
		if err != nil {
			return nil, fmt.Errorf("job %d: %w", i+1, err)
		}
		job := Job{Run: run, Part: i, Kind: kind, Spec: raw, Submitted: now}
		msg, err := json.Marshal(job)
		if err != nil {
			return nil, err
		}
		if len(msg) > MaxJobBytes {
			return nil, fmt.Errorf("job %d: %d bytes, more than %d", i+1, len(msg), MaxJobBytes)
		}
		if err := c.putState(ctx, &JobState{Run: run, Part: i, Kind: kind, State: StateQueued}); err != nil {
			return nil, fmt.Errorf("job %d: %w", i+1, err)
		}
		ack, err := c.js.Publish(ctx, c.subject(kind, run), msg, jetstream.WithMsgID(job.Key()))
		if err != nil {
			return nil, fmt.Errorf("queueing job %d of %d: %w", i+1, len(specs), err)
		}
		b.seqs[ack.Sequence] = i
	}
	return b, nil
}

func (b *Batch) close() {
	if b.w != nil {
		_ = b.w.Stop()
	}
	if b.sub != nil {
		_ = b.sub.Unsubscribe()
	}
}

// RunProgress is how far a run got.
type RunProgress struct {
	Run     string
	Parts   int
	Done    int
	Running int
	Rows    int64 // rows done by finished and running jobs
	Total   int64 // rows expected, when the jobs know
	Workers int   // workers alive in the cluster
	Elapsed time.Duration
}

// Wait waits until every job of the batch is done, calling onDone once for each job done (in
// the order they finish; not again for a job done twice after a redelivery), and tick about
// every interval with the progress. It returns a *DeadError as soon as a job is dead, and
// ctx's error if ctx ends first; the caller may then Cancel the jobs not yet taken.
func (b *Batch) Wait(ctx context.Context, onDone func(*JobState) error, tick func(RunProgress), interval time.Duration) error {
	return b.wait(ctx, onDone, tick, interval, true)
}

// WaitEach is Wait for runs whose jobs fail alone: it waits until every job has ended, done
// or dead, calling onEnd once for each (a dead one's state holds its error), and returns
// only onEnd's or ctx's error.
func (b *Batch) WaitEach(ctx context.Context, onEnd func(*JobState) error, tick func(RunProgress), interval time.Duration) error {
	return b.wait(ctx, onEnd, tick, interval, false)
}

func (b *Batch) wait(ctx context.Context, onEnd func(*JobState) error, tick func(RunProgress), interval time.Duration, failOnDead bool) error {
	defer b.close()
	ended := 0
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	workers := 0
	lastWorkers := time.Time{}
	progress := func() RunProgress {
		p := b.progress(workers)
		p.Done = ended
		return p
	}
	end := func(s *JobState) error {
		prev := b.states[s.Part]
		if prev != nil && (prev.State == StateDone || prev.State == StateDead) {
			return nil // ended already: a late word from a slow duplicate
		}
		b.states[s.Part] = s
		switch {
		case s.State == StateDead && failOnDead:
			return &DeadError{Run: b.Run, Part: s.Part, Kind: b.Kind, Err: s.Error, State: s}
		case s.State != StateDone && s.State != StateDead:
			return nil
		}
		ended++
		if onEnd != nil {
			return onEnd(s)
		}
		return nil
	}
	for ended < b.N {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-b.w.Updates():
			if e == nil {
				continue
			}
			s, err := decodeState(e)
			if err != nil || s.Run != b.Run || s.Part < 0 || s.Part >= b.N {
				continue
			}
			if err := end(s); err != nil {
				return err
			}
		case m := <-b.adv:
			if st := b.advisory(ctx, m); st != nil {
				if err := end(st); err != nil {
					return err
				}
			}
		case <-t.C:
			if tick == nil {
				continue
			}
			if time.Since(lastWorkers) > 2*time.Second {
				wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				if ws, err := b.c.Workers(wctx); err == nil {
					workers = len(ws)
				}
				cancel()
				lastWorkers = time.Now()
			}
			tick(progress())
		}
	}
	if tick != nil {
		tick(progress())
	}
	return nil
}

func (b *Batch) progress(workers int) RunProgress {
	p := RunProgress{Run: b.Run, Parts: b.N, Workers: workers, Elapsed: time.Since(b.start)}
	for _, s := range b.states {
		if s == nil {
			continue
		}
		p.Rows += s.Rows
		p.Total += s.Total
		switch s.State {
		case StateDone:
			p.Done++
		case StateRunning:
			p.Running++
		}
	}
	return p
}

// advisory handles JetStream's word that a job was handed out MaxDeliver times without an
// answer: its workers died on it (or never finished within the ack wait). It records the job
// dead, removes it from the stream and returns its state; nil for a job not of this batch or
// ended already.
func (b *Batch) advisory(ctx context.Context, m *nats.Msg) *JobState {
	var a struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if json.Unmarshal(m.Data, &a) != nil {
		return nil
	}
	part, ok := b.seqs[a.StreamSeq]
	if !ok {
		return nil
	}
	s := b.states[part]
	if s != nil && (s.State == StateDone || s.State == StateDead) {
		return nil
	}
	// The worker of the last delivery may have ended the job just now, its state not yet seen
	// here: its own word (done, or dead with the job's error) is the better one.
	if ks, err := b.c.State(ctx, b.Run, part); err == nil && (ks.State == StateDone || ks.State == StateDead) {
		_ = b.c.stream.DeleteMsg(ctx, a.StreamSeq) // gone already, unless its acknowledgement was lost
		return ks
	}
	st := &JobState{Run: b.Run, Part: part, Kind: b.Kind, State: StateDead,
		Error: fmt.Sprintf("handed out %d times and never finished: the workers that took it stopped answering (crashed, killed, or slower than the ack wait without heartbeats)", a.Deliveries)}
	if s != nil {
		st.Worker, st.Host, st.Attempt = s.Worker, s.Host, s.Attempt
	}
	_ = b.c.putState(ctx, st)
	_ = b.c.stream.DeleteMsg(ctx, a.StreamSeq)
	return st
}

// Cancel drops the batch's jobs that no worker has taken yet (best effort: a job being run
// finishes, and its result expires with the cluster's retention).
func (b *Batch) Cancel(ctx context.Context) error {
	b.close()
	return b.c.stream.Purge(ctx, jetstream.WithPurgeSubject(b.c.subject(b.Kind, b.Run)))
}

// States returns the last state seen of each job (nil for a job not heard of since it was
// queued).
func (b *Batch) States() []*JobState { return b.states }
