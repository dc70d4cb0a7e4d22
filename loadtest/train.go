package loadtest

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// TrainOptions configure TrainStress, the seed's stress_test_training: Jobs training requests,
// at most Concurrency at once.
type TrainOptions struct {
	// Targeter gives the train requests (NewTargets with TrainBody bodies; required).
	Targeter Targeter
	// Concurrency is the most training jobs at once (default 5, at most MaxTrainConcurrency).
	Concurrency int
	// Jobs is the number of training requests (1 to MaxTrainJobs; required).
	Jobs int64
	// Timeout bounds each job's request (default 5 minutes, at most MaxTimeout).
	Timeout time.Duration
	// OnePerClient makes job slot k always send Targeter.Target(k): with one detector per
	// target, no two trainings of one detector ever run at once (gonomaly's service answers a
	// training that overlaps another of the same detector 409 conflict).
	OnePerClient  bool
	Header        http.Header
	Client        *http.Client
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Bounds of TrainOptions.
const (
	MaxTrainConcurrency = 256
	MaxTrainJobs        = 100_000
	DefaultTrainTimeout = 5 * time.Minute
)

// TrainResult is what a training stress test measured.
type TrainResult struct {
	Jobs        int64 `json:"jobs"`
	Concurrency int   `json:"concurrency"`
	// HTTP is the requests' result: its Latency is each job's whole time as the client saw it
	// (queueing for a training slot included).
	HTTP *Result `json:"result"`
	// TrainingTime summarises the training_time_ms the service reported for the successful
	// jobs that reported one (TrainingTimeJobs of them; a job answered 202, still running,
	// reports none).
	TrainingTime     Latency `json:"training_time"`
	TrainingTimeJobs int64   `json:"training_time_jobs"`
}

// TrainStress sends opts.Jobs training requests, opts.Concurrency at a time (the closed
// model), and reports each job's time, the service's own training time, and the failures.
func TrainStress(ctx context.Context, opts TrainOptions) (*TrainResult, error) {
	switch {
	case opts.Concurrency < 0 || opts.Concurrency > MaxTrainConcurrency:
		return nil, optErr("training concurrency %d: want 1 to %d", opts.Concurrency, MaxTrainConcurrency)
	case opts.Jobs < 1 || opts.Jobs > MaxTrainJobs:
		return nil, optErr("training jobs %d: want 1 to %d", opts.Jobs, MaxTrainJobs)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 5
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTrainTimeout
	}
	o := Options{Targeter: opts.Targeter, Concurrency: opts.Concurrency, Requests: opts.Jobs, Timeout: opts.Timeout,
		Header: opts.Header, Client: opts.Client, Progress: opts.Progress, ProgressEvery: opts.ProgressEvery, byClient: opts.OnePerClient}
	var shards []*shard
	res, err := run(ctx, o, func(body []byte, sh *shard) {
		if ms, ok := trainingMillis(body); ok {
			_ = sh.server.RecordValue(micros(time.Duration(ms * float64(time.Millisecond))))
		}
	}, func(s []*shard) { shards = s })
	if res == nil {
		return nil, err
	}
	out := &TrainResult{Jobs: opts.Jobs, Concurrency: opts.Concurrency, HTTP: res}
	h := hdrhistogram.New(lowestMicros, highestMicros, sigFigs)
	for _, s := range shards {
		s.mu.Lock()
		h.Merge(s.server)
		s.mu.Unlock()
	}
	out.TrainingTime, out.TrainingTimeJobs = summarize(h), h.TotalCount()
	return out, err
}

// trainingMillis is the training_time_ms of a train answer, when it has a finite, non-negative
// one under an hour. body comes from the service: anything.
func trainingMillis(body []byte) (float64, bool) {
	var v struct {
		TrainingTimeMS *float64 `json:"training_time_ms"`
	}
	if json.Unmarshal(body, &v) != nil || v.TrainingTimeMS == nil {
		return 0, false
	}
	ms := *v.TrainingTimeMS
	if math.IsNaN(ms) || ms < 0 || ms > float64(time.Hour/time.Millisecond) {
		return 0, false
	}
	return ms, true
}
