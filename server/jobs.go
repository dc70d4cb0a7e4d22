package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Job statuses.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// jobView is a job as the API shows it.
type jobView struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	DetectorID string         `json:"detector_id"`
	Status     string         `json:"status"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Result     *trainResponse `json:"result,omitempty"`
	Error      *errorBody     `json:"error,omitempty"`
}

type job struct {
	mu   sync.Mutex
	view jobView
	err  *apiError
	done chan struct{}
}

func (j *job) snapshot() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view
	return v
}

// jobs runs long work (training) off the request path. A request waits for its job up to a
// budget; past it the client gets 202 and the job's id to poll, and the work goes on under the
// server's lifetime, not the request's. The server waits for running jobs when it shuts down.
type jobs struct {
	ctx  context.Context // the server's: cancelled when shutdown gives up waiting
	sem  chan struct{}   // bounds concurrent jobs
	wg   sync.WaitGroup
	keep int

	mu    sync.Mutex
	byID  map[string]*job
	order []string // creation order, for pruning finished jobs
}

func newJobs(ctx context.Context, concurrency, keep int) *jobs {
	return &jobs{ctx: ctx, sem: make(chan struct{}, concurrency), keep: keep, byID: map[string]*job{}}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // a version 4 UUID
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// start runs work as a job.
func (js *jobs) start(kind, detectorID string, work func(ctx context.Context) (*trainResponse, *apiError)) *job {
	j := &job{view: jobView{ID: newID(), Kind: kind, DetectorID: detectorID, Status: JobRunning, CreatedAt: time.Now().UTC()}, done: make(chan struct{})}
	js.mu.Lock()
	js.byID[j.view.ID] = j
	js.order = append(js.order, j.view.ID)
	js.pruneLocked()
	js.mu.Unlock()
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		defer close(j.done)
		var (
			res  *trainResponse
			aerr *apiError
		)
		select {
		case js.sem <- struct{}{}:
			res, aerr = work(js.ctx)
			<-js.sem
		case <-js.ctx.Done():
			aerr = errorf(503, CodeUnavailable, "server shutting down before the job started")
		}
		now := time.Now().UTC()
		j.mu.Lock()
		j.view.FinishedAt = &now
		if aerr != nil {
			j.view.Status, j.err = JobFailed, aerr
			j.view.Error = &errorBody{Error: aerr.Msg, Code: aerr.Code}
		} else {
			j.view.Status, j.view.Result = JobSucceeded, res
		}
		j.mu.Unlock()
	}()
	return j
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
