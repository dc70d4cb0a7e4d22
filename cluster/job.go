package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Job states, as JobState.State holds them. A job is queued until a worker takes it, running
// while one works on it (retrying after a failure that may pass), then done, or dead when it
// failed MaxDeliver times, failed for good, or was handed out MaxDeliver times and never
// answered (its workers died): a dead job keeps its error and is never handed out again.
const (
	StateQueued   = "queued"
	StateRunning  = "running"
	StateRetrying = "retrying"
	StateDone     = "done"
	StateDead     = "dead"
)

// Job kinds that gonomaly's workers run.
const (
	KindScore = "score" // score one partition of a file with a model
	KindFit   = "fit"   // fit a stored detector and save its model
	KindCell  = "cell"  // run one cell of a benchmark suite
)

// MaxJobBytes bounds a job message (its spec included); larger data goes through the object
// store.
const MaxJobBytes = 256 << 10

// Job is one unit of work on the queue: part Part of run Run.
type Job struct {
	Run       string          `json:"run"`
	Part      int             `json:"part"`
	Kind      string          `json:"kind"`
	Spec      json.RawMessage `json:"spec"`
	Submitted time.Time       `json:"submitted"`
}

// Key is the job's key in the state bucket and its message id on the queue.
func (j *Job) Key() string { return jobKey(j.Run, j.Part) }

func jobKey(run string, part int) string { return fmt.Sprintf("%s.%06d", run, part) }

var (
	validRun  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	validKind = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// DecodeJob reads a job message: JSON, at most MaxJobBytes, with a run id, a kind and a
// part a queue can hold. Anything else is an error: a worker ends such a job at once.
func DecodeJob(b []byte) (*Job, error) {
	if len(b) > MaxJobBytes {
		return nil, fmt.Errorf("job message of %d bytes: more than %d", len(b), MaxJobBytes)
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("job message: %w", err)
	}
	switch {
	case !validRun.MatchString(j.Run):
		return nil, fmt.Errorf("job message: run id %q is not 1-64 letters, digits, '-' or '_'", clip(j.Run))
	case !validKind.MatchString(j.Kind):
		return nil, fmt.Errorf("job message: kind %q is not a job kind", clip(j.Kind))
	case j.Part < 0 || j.Part > MaxParts:
		return nil, fmt.Errorf("job message: part %d: must be between 0 and %d", j.Part, MaxParts)
	}
	return &j, nil
}

// MaxParts bounds the parts of one run.
const MaxParts = 100000

// JobState is what the state bucket holds of a job: where it is, who works on it, how far it
// got, and its result or error.
type JobState struct {
	Run      string    `json:"run"`
	Part     int       `json:"part"`
	Kind     string    `json:"kind"`
	State    string    `json:"state"`
	Worker   string    `json:"worker,omitempty"`
	Host     string    `json:"host,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Rows     int64     `json:"rows,omitempty"`  // rows done so far, or in all when done
	Total    int64     `json:"total,omitempty"` // rows expected, when known
	Result   string    `json:"result,omitempty"`
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Updated  time.Time `json:"updated"`
	Seconds  float64   `json:"seconds,omitempty"` // the work's time, when done
	Machine  string    `json:"machine,omitempty"` // the worker's machine: CPU model and cores
	Revision uint64    `json:"-"`
}

func (c *Conn) putState(ctx context.Context, s *JobState) error {
	s.Updated = time.Now().UTC()
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = c.jobs.Put(ctx, jobKey(s.Run, s.Part), b)
	return err
}

// State returns the state of part part of run run, or an error wrapping ErrNoJob.
func (c *Conn) State(ctx context.Context, run string, part int) (*JobState, error) {
	e, err := c.jobs.Get(ctx, jobKey(run, part))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("job %s: %w", jobKey(run, part), ErrNoJob)
	}
	if err != nil {
		return nil, err
	}
	return decodeState(e)
}

// ErrNoJob is the error of a job the state bucket does not know.
var ErrNoJob = errors.New("no such job")

func decodeState(e jetstream.KeyValueEntry) (*JobState, error) {
	var s JobState
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return nil, fmt.Errorf("state of job %s: %w", e.Key(), err)
	}
	s.Revision = e.Revision()
	return &s, nil
}

// Jobs returns the states of the jobs of run, or of every run kept when run is empty, in key
// order, at most limit of them (0: all).
func (c *Conn) Jobs(ctx context.Context, run string, limit int) ([]*JobState, error) {
	filter := ">"
	if run != "" {
		if !validRun.MatchString(run) {
			return nil, fmt.Errorf("run id %q is not 1-64 letters, digits, '-' or '_'", clip(run))
		}
		filter = run + ".*"
	}
	w, err := c.jobs.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var out []*JobState
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e := <-w.Updates():
			if e == nil {
				return out, nil
			}
			s, err := decodeState(e)
			if err != nil {
				continue
			}
			if limit > 0 && len(out) >= limit {
				out = out[1:] // keep the newest keys
			}
			out = append(out, s)
		}
	}
}

// permanent marks an error that no retry can mend (a spec that does not parse, a file that
// changed): the job is dead at once.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the worker ends its job as dead at once, without retries.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanent
	return errors.As(err, &p)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
