package server

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// trainJob is a train answer: a job (202, 200 with the job's error) or the train result.
type trainJob struct {
	jobView
	Result *trainResponse `json:"result"`
}

// A training limit the heap is always over: the job waits TrainMemoryWait, then fails with
// 503 "short of memory"; the detector stays untrained and the wait is counted.
func TestTrainingJobShortOfMemoryFails(t *testing.T) {
	const wait = 300 * time.Millisecond
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainMemoryLimit, c.TrainMemoryWait = 1, wait }})
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "hbos"}, &d)
	var eb errorBody
	t0 := time.Now()
	st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(200, 3, 1)}, &eb)
	took := time.Since(t0)
	if st != http.StatusServiceUnavailable || eb.Code != CodeUnavailable || !strings.HasPrefix(eb.Error, "the service is short of memory: ") {
		t.Fatalf("train over the memory limit: %d %+v", st, eb)
	}
	if took < wait {
		t.Errorf("the job failed after %v, before its %v wait", took, wait)
	}
	var got detectorView
	if e.do("GET", "/api/v1/detectors/"+d.ID, nil, &got); got.IsFitted {
		t.Errorf("the detector was fitted: %+v", got)
	}
	text := withoutInstance(httptestGet(e, "/metrics"))
	for _, want := range []string{"gonomaly_train_memory_waits_total 1", `gonomaly_jobs_total{outcome="failed"} 1`, "gonomaly_train_memory_limit_bytes 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, grep(text, "train_memory"))
		}
	}
}

// A job waiting for memory ends as soon as its detector is deleted, as deleted, not as short
// of memory: the wait is bounded by the job's context.
func TestTrainingJobWaitingForMemoryEndsWithItsDetector(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainMemoryLimit, c.TrainMemoryWait = 1, time.Minute }})
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "hbos"}, &d)
	var j trainJob
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(200, 3, 1), "async": true}, &j); st != http.StatusAccepted {
		t.Fatalf("async train: %d", st)
	}
	time.Sleep(200 * time.Millisecond)
	if e.do("GET", "/api/v1/jobs/"+j.ID, nil, &j); j.Status != JobRunning {
		t.Fatalf("the job does not wait for memory: %+v", j)
	}
	t0 := time.Now()
	if st := e.do("DELETE", "/api/v1/detectors/"+d.ID, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	waitFor(t, "the job to end", func() bool { e.do("GET", "/api/v1/jobs/"+j.ID, nil, &j); return j.Status != JobRunning })
	if j.Status != JobFailed || j.Error == nil || j.Error.Code != CodeConflict || !strings.Contains(j.Error.Error, "deleted") {
		t.Errorf("job after its detector was deleted: %+v %+v", j, j.Error)
	}
	if took := time.Since(t0); took > 30*time.Second {
		t.Errorf("the job ended %v after the delete, not at once", took)
	}
}

// A job waits while the heap is over the limit and trains as soon as it is back under; with
// the default limit a training does not wait at all.
func TestTrainingJobWaitsForMemoryThenTrains(t *testing.T) {
	runtime.GC()
	limit := sysstat.HeapBytes() + 48<<20
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainMemoryLimit, c.TrainMemoryWait = limit, time.Minute }})
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "hbos"}, &d)
	ballast := make([]byte, 128<<20) // live: over the limit until released
	var j trainJob
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(200, 3, 1), "async": true}, &j); st != http.StatusAccepted {
		t.Fatalf("async train: %d", st)
	}
	time.Sleep(300 * time.Millisecond)
	if e.do("GET", "/api/v1/jobs/"+j.ID, nil, &j); j.Status != JobRunning {
		t.Fatalf("the job did not wait with the heap (%d) over the limit (%d): %+v", sysstat.HeapBytes(), limit, j)
	}
	runtime.KeepAlive(ballast)
	ballast = nil
	runtime.GC()
	waitFor(t, "the job to end", func() bool { e.do("GET", "/api/v1/jobs/"+j.ID, nil, &j); return j.Status != JobRunning })
	if j.Status != JobSucceeded || j.Result == nil || j.Result.NSamples != 200 {
		t.Fatalf("job after the heap fell under the limit: %+v %+v", j, j.Error)
	}
	if st := e.srv.trainMem.Stats(); st.Waits != 1 || st.Waited < 300*time.Millisecond {
		t.Errorf("guard stats %+v: want one wait of at least 300ms", st)
	}

	n := newEnv(t, envOpts{})
	if n.srv.cfg.TrainMemoryLimit != DefaultTrainMemoryLimit(sysstat.MemoryLimit()) {
		t.Errorf("default training memory limit %d", n.srv.cfg.TrainMemoryLimit)
	}
	n.createAndTrain("hbos", nil, rows(200, 3, 2))
	if st := n.srv.trainMem.Stats(); st.Waits != 0 {
		t.Errorf("a training waited under the default limit: %+v", st)
	}
	off := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainMemoryLimit = -1 }})
	if off.srv.trainMem != nil {
		t.Error("a negative TrainMemoryLimit left a guard")
	}
	off.createAndTrain("hbos", nil, rows(200, 3, 3))
}
