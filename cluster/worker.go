package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// Handler runs one job. It stores its result where the job's kind says (the object store,
// the store) before it returns, and returns the result's name, if any; the worker
// acknowledges the job only then. It reports progress through p. An error marked Permanent
// ends the job at once; any other is retried (on this worker or another) until the job has
// been handed out MaxDeliver times. Handlers must be idempotent: a job may run again after a
// worker died between storing the result and acknowledging it.
type Handler func(ctx context.Context, job *Job, p *Progress) (result string, err error)

// Progress is how a handler reports how far it got: the worker passes it on with its
// heartbeats.
type Progress struct {
	rows  atomic.Int64
	total atomic.Int64
}

// Add counts n more rows done.
func (p *Progress) Add(n int64) { p.rows.Add(n) }

// SetTotal says how many rows the job has, when known.
func (p *Progress) SetTotal(n int64) { p.total.Store(n) }

// WorkerInfo is a worker's heartbeat record: who and where it is and what it works on.
type WorkerInfo struct {
	Name     string       `json:"name"`
	Host     string       `json:"host"`
	Machine  string       `json:"machine"`
	PID      int          `json:"pid"`
	Version  string       `json:"version,omitempty"`
	Kinds    []string     `json:"kinds"`
	Slots    int          `json:"slots"`
	Started  time.Time    `json:"started"`
	Updated  time.Time    `json:"updated"`
	Done     int64        `json:"done"`
	Failed   int64        `json:"failed"`
	Current  []CurrentJob `json:"current"`
	Draining bool         `json:"draining,omitempty"`
}

// CurrentJob is a job a worker is running, as its heartbeat shows it.
type CurrentJob struct {
	Run     string    `json:"run"`
	Part    int       `json:"part"`
	Kind    string    `json:"kind"`
	Attempt int       `json:"attempt"`
	Rows    int64     `json:"rows"`
	Total   int64     `json:"total,omitempty"`
	Started time.Time `json:"started"`
}

// Worker takes jobs from a cluster's queue and runs them with its handlers, Slots at a time.
type Worker struct {
	Conn     *Conn
	Name     string             // unique in the cluster; default host-pid
	Handlers map[string]Handler // by job kind
	Slots    int                // jobs at once; default 1
	Log      *slog.Logger       // default slog.Default()

	host, machine string
	started       time.Time
	done, failed  atomic.Int64
	stopping      atomic.Bool
	stop          chan struct{}
	stopOnce      sync.Once
	mu            sync.Mutex
	current       map[string]*running
}

type running struct {
	job     *Job
	attempt int
	p       *Progress
	started time.Time
}

var validWorker = validRun

// Run takes and runs jobs until Stop is called (it then finishes the jobs it holds) or ctx
// ends (it then abandons them: each is handed back to the queue at once, for another worker).
// It returns nil after Stop, else ctx's error.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.init(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	hbCtx, hbCancel := context.WithCancel(context.WithoutCancel(ctx))
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); w.heartbeat(hbCtx) }()
	for range w.Slots {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	hbCancel()
	<-hbDone
	// Leave the worker list at once rather than after the heartbeat's TTL.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = w.Conn.workers.Delete(dctx, w.Name)
	if w.stopping.Load() {
		return nil
	}
	return ctx.Err()
}

func (w *Worker) init() error {
	if w.Conn == nil || len(w.Handlers) == 0 {
		return errors.New("worker: no connection or no handlers")
	}
	w.host, _ = os.Hostname()
	if w.Name == "" {
		w.Name = fmt.Sprintf("%s-%d", w.host, os.Getpid())
	}
	if !validWorker.MatchString(w.Name) {
		return fmt.Errorf("worker name %q: use 1 to 64 letters, digits, '-' or '_'", clip(w.Name))
	}
	if w.Slots <= 0 {
		w.Slots = 1
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	w.machine = Machine()
	w.started = time.Now().UTC()
	w.stopCh()
	w.mu.Lock()
	w.current = map[string]*running{}
	w.mu.Unlock()
	return nil
}

// Stop makes Run take no more jobs and return once the jobs it holds are done.
func (w *Worker) Stop() {
	w.stopping.Store(true)
	ch := w.stopCh()
	w.stopOnce.Do(func() { close(ch) })
}

// stopCh returns the channel Stop closes, making it on first use (Stop may come before Run).
func (w *Worker) stopCh() chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop == nil {
		w.stop = make(chan struct{})
	}
	return w.stop
}

// fetchWait bounds how long a fetch waits for a job, so Stop and ctx are seen that soon.
const fetchWait = time.Second

func (w *Worker) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		default:
		}
		// Fetch one job at a time, only when free: a prefetched job would wait unheeded and
		// be handed to another worker when its ack wait ran out.
		batch, err := w.Conn.cons.Fetch(1, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			w.Log.Warn("worker: fetching a job", "err", err)
			sleep(ctx, w.stop, time.Second)
			continue
		}
		for msg := range batch.Messages() {
			w.handle(ctx, msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			w.Log.Debug("worker: fetch", "err", err)
		}
	}
}

func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-stop:
	case <-t.C:
	}
}

// handle runs one job message to its end: acknowledged when done, handed back when the worker
// is abandoning it, retried later after an error that may pass, ended (dead) otherwise.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	// From now until the message is settled (acknowledged, ended or handed back) keep the job
	// ours: on a loaded machine the reads and writes of its state can outlast the ack wait, and
	// JetStream would hand it to another worker meanwhile. Every settlement below calls
	// settled first.
	settled := keepInProgress(msg, w.Conn.opts.AckWait, w.Log)
	attempt := 1
	if md, err := msg.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	job, err := DecodeJob(msg.Data())
	if err != nil {
		w.Log.Error("worker: a job message that does not parse is dropped", "err", err, "subject", msg.Subject())
		settled()
		_ = msg.TermWithReason("does not parse")
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if prev, err := w.Conn.State(sctx, job.Run, job.Part); err == nil {
		switch prev.State {
		case StateDone, StateDead:
			// Done (or dead) by an earlier attempt whose acknowledgement was lost: not again.
			w.Log.Info("worker: job already ended, acknowledging", "job", job.Key(), "kind", job.Kind, "attempt", attempt, "state", prev.State)
			settled()
			_ = msg.Ack()
			return
		case StateRetrying, StateRunning:
			// JetStream's delivery count is the attempt, but it can start again from 1 (a
			// redelivery racing a delayed one on a loaded server): the job's own record of
			// its attempts keeps MaxDeliver a bound.
			attempt = max(attempt, prev.Attempt+1)
		}
	}
	log := w.Log.With("job", job.Key(), "kind", job.Kind, "attempt", attempt)
	h := w.Handlers[job.Kind]
	st := &JobState{Run: job.Run, Part: job.Part, Kind: job.Kind, Worker: w.Name, Host: w.host, Machine: w.machine,
		Attempt: attempt, Started: time.Now().UTC()}
	if h == nil {
		st.State, st.Error = StateDead, fmt.Sprintf("worker %s runs no %q jobs", w.Name, job.Kind)
		_ = w.Conn.putState(sctx, st)
		settled()
		_ = msg.TermWithReason("unknown kind")
		w.failed.Add(1)
		return
	}
	st.State = StateRunning
	if err := w.Conn.putState(sctx, st); err != nil {
		log.Warn("worker: recording the job's state", "err", err)
	}
	r := &running{job: job, attempt: attempt, p: &Progress{}, started: st.Started}
	w.mu.Lock()
	w.current[job.Key()] = r
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.current, job.Key())
		w.mu.Unlock()
	}()

	jctx, jcancel := context.WithCancel(ctx)
	defer jcancel()
	hbDone := make(chan struct{})
	go func() { // the job's progress in its state, while it runs
		defer close(hbDone)
		t := time.NewTicker(max(w.Conn.opts.AckWait/4, 50*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				s := *st
				s.Rows, s.Total = r.p.rows.Load(), r.p.total.Load()
				_ = w.Conn.putState(jctx, &s)
			}
		}
	}()
	t0 := time.Now()
	result, err := runHandler(jctx, h, job, r.p)
	jcancel()
	<-hbDone
	st.Rows, st.Total, st.Seconds = r.p.rows.Load(), r.p.total.Load(), time.Since(t0).Seconds()
	ectx, ecancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer ecancel()
	switch {
	case err == nil:
		st.State, st.Result = StateDone, result
		if err := w.Conn.putState(ectx, st); err != nil {
			// Not recorded: leave it unacknowledged, so it is redone rather than lost.
			log.Error("worker: recording a finished job failed; it will be redelivered", "err", err)
			settled()
			_ = msg.Nak()
			return
		}
		settled()
		if err := msg.DoubleAck(ectx); err != nil {
			log.Warn("worker: acknowledging", "err", err) // redelivered, then acknowledged as done
		}
		w.done.Add(1)
		log.Info("worker: job done", "rows", st.Rows, "seconds", st.Seconds)
	case ctx.Err() != nil: // the worker is abandoning it
		st.State, st.Error = StateQueued, "handed back: worker "+w.Name+" stopped"
		_ = w.Conn.putState(ectx, st)
		settled()
		_ = msg.Nak()
		log.Info("worker: job handed back")
	case IsPermanent(err) || attempt >= w.Conn.opts.MaxDeliver:
		st.State, st.Error = StateDead, err.Error()
		_ = w.Conn.putState(ectx, st)
		settled()
		_ = msg.TermWithReason("dead")
		w.failed.Add(1)
		log.Error("worker: job dead", "err", err)
	default:
		st.State, st.Error = StateRetrying, err.Error()
		_ = w.Conn.putState(ectx, st)
		settled()
		_ = msg.NakWithDelay(backoff(attempt))
		w.failed.Add(1)
		log.Warn("worker: job failed, to be retried", "err", err)
	}
}

// keepInProgress sends msg's in-progress acks every ackWait/4 until the returned function is
// called (which waits for the last one to be sent).
func keepInProgress(msg jetstream.Msg, ackWait time.Duration, log *slog.Logger) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(max(ackWait/4, 50*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Warn("worker: in-progress ack", "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// runHandler runs h, turning a panic into a permanent error: a job that panics is dead, the
// worker goes on.
func runHandler(ctx context.Context, h Handler, job *Job, p *Progress) (result string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Permanent(fmt.Errorf("the job panicked: %v", v))
			slog.Error("worker: job panicked", "job", job.Key(), "panic", v, "stack", string(debug.Stack()))
		}
	}()
	return h(ctx, job, p)
}

// backoff is the delay before a failed job's next attempt.
func backoff(attempt int) time.Duration {
	return min(time.Duration(attempt)*time.Second, 10*time.Second)
}

// heartbeatEvery is how often a worker's record is renewed (its TTL is workerTTL).
const heartbeatEvery = 2 * time.Second

func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		w.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) beat(ctx context.Context) {
	info := WorkerInfo{Name: w.Name, Host: w.host, Machine: w.machine, PID: os.Getpid(), Version: version(),
		Slots: w.Slots, Started: w.started, Updated: time.Now().UTC(), Done: w.done.Load(), Failed: w.failed.Load(),
		Draining: w.stopping.Load(), Current: []CurrentJob{}}
	for k := range w.Handlers {
		info.Kinds = append(info.Kinds, k)
	}
	w.mu.Lock()
	for _, r := range w.current {
		info.Current = append(info.Current, CurrentJob{Run: r.job.Run, Part: r.job.Part, Kind: r.job.Kind, Attempt: r.attempt,
			Rows: r.p.rows.Load(), Total: r.p.total.Load(), Started: r.started})
	}
	w.mu.Unlock()
	b, _ := json.Marshal(info)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := w.Conn.workers.Put(cctx, w.Name, b); err != nil && ctx.Err() == nil {
		w.Log.Warn("worker: heartbeat", "err", err)
	}
}

// Workers returns the workers whose heartbeat is recent (within the last 15 s).
func (c *Conn) Workers(ctx context.Context) ([]WorkerInfo, error) {
	wt, err := c.workers.Watch(ctx, ">", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = wt.Stop() }()
	var out []WorkerInfo
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e := <-wt.Updates():
			if e == nil {
				return out, nil
			}
			var wi WorkerInfo
			if json.Unmarshal(e.Value(), &wi) == nil && time.Since(wi.Updated) < workerTTL {
				out = append(out, wi)
			}
		}
	}
}

// Machine describes this machine for timings: its CPU model, logical cores and OS.
func Machine() string {
	m := sysstat.CurrentMachine()
	return fmt.Sprintf("%s, %d cores, %s/%s", m.CPUModel, m.Cores, m.OS, m.Arch)
}

func version() string { return bench.BuildVersion() }
