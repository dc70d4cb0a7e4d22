package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/detector"
	"github.com/google/uuid"
)

// Job statuses. A job waiting for a free slot is already "running"; a cancelled one (its
// detector deleted, the server shut down) has "failed", its error saying why.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// jobView is a job as the API shows it.
type jobView struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	DetectorID string     `json:"detector_id"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Result     any        `json:"result,omitempty"`
	Error      *errorBody `json:"error,omitempty"`
}

type job struct {
	mu     sync.Mutex
	view   jobView
	err    *apiError
	done   chan struct{}
	cancel context.CancelCauseFunc
}

func (j *job) snapshot() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.view
}

// errDetectorDeleted is the cause with which a deleted detector's jobs are cancelled.
var errDetectorDeleted = errors.New("the detector was deleted")

// jobs runs long work (training; any work that returns a JSON-able result) off the request
// path. A request waits for its job up to a
// budget; past it the client gets 202 and the job's id to poll, and the work goes on under the
// server's lifetime, not the request's. At most maxActive jobs wait or run at once (a train
// request past that is 429), concurrency of them run; a detector's jobs are cancelled when it
// is deleted; a job that panics fails alone. The server waits for running jobs when it shuts
// down.
type jobs struct {
	ctx       context.Context // the server's: cancelled when shutdown gives up waiting
	sem       chan struct{}   // bounds running jobs
	wg        sync.WaitGroup
	keep      int
	maxActive int
	log       *slog.Logger
	onEnd     func(outcome string)
	// admit, when set, runs once a job has its slot and before its work: an error fails the
	// job without running the work (the training memory limit, Server.admitTraining).
	admit func(ctx context.Context) *apiError

	mu     sync.Mutex
	byID   map[string]*job
	order  []string // creation order, for pruning finished jobs
	active int      // jobs queued or running
}

func newJobs(ctx context.Context, concurrency, maxActive, keep int, log *slog.Logger, onEnd func(string)) *jobs {
	if onEnd == nil {
		onEnd = func(string) {}
	}
	return &jobs{ctx: ctx, sem: make(chan struct{}, concurrency), keep: keep, maxActive: maxActive, log: log, onEnd: onEnd, byID: map[string]*job{}}
}

// start runs work as a job, or answers 429 when maxActive jobs are already queued or running.
func (js *jobs) start(kind, detectorID string, work func(ctx context.Context) (any, *apiError)) (*job, *apiError) {
	ctx, cancel := context.WithCancelCause(js.ctx)
	j := &job{view: jobView{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, DetectorID: detectorID, Status: JobRunning, CreatedAt: time.Now().UTC()},
		done: make(chan struct{}), cancel: cancel}
	js.mu.Lock()
	if js.active >= js.maxActive {
		js.mu.Unlock()
		cancel(nil)
		return nil, &apiError{Status: http.StatusTooManyRequests, Code: CodeTooManyJobs,
			Msg: fmt.Sprintf("%d training jobs are already queued or running, the most this server takes: retry later", js.maxActive)}
	}
	js.active++
	js.byID[j.view.ID] = j
	js.order = append(js.order, j.view.ID)
	js.pruneLocked()
	js.mu.Unlock()
	js.wg.Add(1)
	go js.run(ctx, j, work)
	return j, nil
}

func (js *jobs) run(ctx context.Context, j *job, work func(ctx context.Context) (any, *apiError)) {
	defer js.wg.Done()
	defer close(j.done)
	var (
		res      any
		aerr     *apiError
		panicked bool
	)
	select {
	case js.sem <- struct{}{}:
		func() {
			defer func() {
				if p := recover(); p != nil {
					panicked = true
					js.log.Error("job panicked", "job", j.view.ID, "kind", j.view.Kind, "detector", j.view.DetectorID, "panic", p, "stack", string(debug.Stack()))
					aerr = errorf(http.StatusInternalServerError, CodeInternal, "internal error: the job failed")
				}
			}()
			if js.admit != nil {
				if aerr = js.admit(ctx); aerr != nil {
					return
				}
			}
			res, aerr = work(ctx)
		}()
		<-js.sem
	case <-ctx.Done():
	}
	status, outcome := JobSucceeded, JobSucceeded
	switch cause := context.Cause(ctx); {
	case panicked:
		status, outcome = JobFailed, "panicked"
	case errors.Is(cause, errDetectorDeleted):
		status, outcome = JobFailed, "cancelled"
		aerr = errorf(http.StatusConflict, CodeConflict, "detector %s was deleted while the job was queued or running", j.view.DetectorID)
	case ctx.Err() != nil && res == nil:
		status, outcome = JobFailed, "cancelled"
		aerr = errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server shut down before the job finished")
	case aerr != nil:
		status, outcome = JobFailed, JobFailed
	}
	now := time.Now().UTC()
	j.mu.Lock()
	j.view.FinishedAt, j.view.Status = &now, status
	if aerr != nil {
		j.err, j.view.Result = aerr, nil
		j.view.Error = &errorBody{Error: aerr.Msg, Code: aerr.Code}
	} else {
		j.view.Result = res
	}
	j.mu.Unlock()
	j.cancel(nil)
	js.mu.Lock()
	js.active--
	js.mu.Unlock()
	js.onEnd(outcome)
}

// cancelDetector cancels every queued or running job of a detector, with cause.
func (js *jobs) cancelDetector(id string, cause error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.byID {
		if j.view.DetectorID == id {
			j.cancel(cause)
		}
	}
}

// pruneLocked forgets the oldest finished jobs beyond keep.
func (js *jobs) pruneLocked() {
	for len(js.order) > js.keep {
		id := js.order[0]
		j := js.byID[id]
		select {
		case <-j.done:
		default:
			return // the oldest still runs; keep everything until it ends
		}
		delete(js.byID, id)
		js.order = js.order[1:]
	}
}

func (js *jobs) get(id string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.byID[id]
}

// wait waits for every job to end, or for ctx.
func (js *jobs) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { js.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load returns the jobs queued or running and the most that may be.
func (j *jobs) load() (active, limit int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.active, j.maxActive
}

// admitTraining holds a training job back while the Go heap is over Config.TrainMemoryLimit,
// for at most Config.TrainMemoryWait: the fits in flight finish and free their memory before
// another starts. A job still over the limit then fails with 503; one cancelled meanwhile
// (its detector deleted, the server shutting down) is reported by its cause.
func (s *Server) admitTraining(ctx context.Context) *apiError {
	g := s.trainMem
	if g == nil || !g.Over() {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.TrainMemoryWait)
	defer cancel()
	t0 := time.Now()
	err := g.Wait(wctx)
	if err == nil {
		s.log.Info("training job waited for memory", "waited", time.Since(t0).Round(time.Millisecond), "limit", detector.HumanBytes(s.cfg.TrainMemoryLimit))
		return nil
	}
	if ctx.Err() != nil {
		return nil // jobs.run reports the job's own cancellation
	}
	heap := g.Stats().Last.Heap
	s.log.Warn("training job refused: the heap stayed over the training memory limit", "heap", detector.HumanBytes(heap),
		"limit", detector.HumanBytes(s.cfg.TrainMemoryLimit), "waited", s.cfg.TrainMemoryWait)
	return errorf(http.StatusServiceUnavailable, CodeUnavailable,
		"the service is short of memory: its heap (%s) stayed over the training memory limit (%s) for %s, so the training did not start; retry later",
		detector.HumanBytes(heap), detector.HumanBytes(s.cfg.TrainMemoryLimit), detector.HumanDuration(s.cfg.TrainMemoryWait))
}
