package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// ScoreSpec is the spec of a score job: one partition of a file on storage every worker
// shares, the model (by its object's name) and where the scores go.
type ScoreSpec struct {
	Layout    Layout    `json:"layout"` // without its Parts
	Part      Partition `json:"part"`
	Label     string    `json:"label,omitempty"`
	ChunkRows int       `json:"chunk_rows,omitempty"`
	Model     string    `json:"model"`  // "models/<sha256 of the model's bytes>"
	Result    string    `json:"result"` // "results/<run>/<part>"
}

func resultName(run string, part int) string { return fmt.Sprintf("results/%s/%06d", run, part) }

// PutModel stores m's bytes in the cluster's object store, named by their SHA-256 (once: a
// model already there is not sent again), and returns the name.
func (c *Conn) PutModel(ctx context.Context, m *detector.Model) (string, error) {
	b, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	name := "models/" + hex.EncodeToString(sum[:])
	if _, err := c.data.GetInfo(ctx, name); err == nil {
		return name, nil
	}
	if _, err := c.data.PutBytes(ctx, name, b); err != nil {
		return "", fmt.Errorf("storing the model in the cluster: %w", err)
	}
	return name, nil
}

// modelCache keeps the last models a worker decoded, by name.
type modelCache struct {
	mu     sync.Mutex
	names  []string
	byName map[string]*detector.Model
}

const modelCacheSize = 4

func (mc *modelCache) get(ctx context.Context, c *Conn, name string) (*detector.Model, error) {
	mc.mu.Lock()
	if m, ok := mc.byName[name]; ok {
		mc.mu.Unlock()
		return m, nil
	}
	mc.mu.Unlock()
	hexSum, ok := strings.CutPrefix(name, "models/")
	if !ok || len(hexSum) != 64 {
		return nil, Permanent(fmt.Errorf("model %q: not a model's name", clip(name)))
	}
	b, err := c.data.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, Permanent(fmt.Errorf("model %s is not in the cluster's object store (expired?)", name))
	}
	if err != nil {
		return nil, fmt.Errorf("fetching model %s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexSum {
		return nil, fmt.Errorf("model %s: its bytes do not match its name", name) // retried: a bad read
	}
	m, err := detector.UnmarshalModel(b)
	if err != nil {
		return nil, Permanent(fmt.Errorf("model %s: %w", name, err))
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.byName == nil {
		mc.byName = map[string]*detector.Model{}
	}
	if len(mc.names) >= modelCacheSize {
		delete(mc.byName, mc.names[0])
		mc.names = mc.names[1:]
	}
	mc.names = append(mc.names, name)
	mc.byName[name] = m
	return m, nil
}

// ScoreHandler returns the handler of score jobs: it scores its partition with the model on
// all cores, streaming, and stores the scores (and labels) in the object store.
func ScoreHandler(c *Conn) Handler {
	models := &modelCache{}
	return func(ctx context.Context, job *Job, p *Progress) (string, error) {
		var spec ScoreSpec
		if err := json.Unmarshal(job.Spec, &spec); err != nil {
			return "", Permanent(fmt.Errorf("score spec: %w", err))
		}
		if spec.Result != resultName(job.Run, job.Part) {
			return "", Permanent(fmt.Errorf("score spec: result %q is not this job's", clip(spec.Result)))
		}
		if spec.ChunkRows < 0 || spec.ChunkRows > 1<<20 {
			return "", Permanent(fmt.Errorf("score spec: chunk of %d rows", spec.ChunkRows))
		}
		m, err := models.get(ctx, c, spec.Model)
		if err != nil {
			return "", err
		}
		src, closer, err := spec.Layout.Open(spec.Part, dataset.Options{Label: spec.Label, ChunkRows: spec.ChunkRows})
		if err != nil {
			return "", err
		}
		defer closer.Close()
		if n := len(src.Columns()); n != m.Cols {
			return "", Permanent(fmt.Errorf("%s has %d feature columns, the model was fitted on %d: %w", spec.Layout.Path, n, m.Cols, detector.ErrDimension))
		}
		p.SetTotal(spec.Part.Rows)
		tap := &countTap{Source: src, p: p, keep: spec.Label != ""}
		sink := &collectSink{}
		if _, err := m.ScoreStream(ctx, tap, sink); err != nil {
			var pe *dataset.ParseError
			if errors.As(err, &pe) || errors.Is(err, dataset.ErrEmpty) {
				err = Permanent(err)
			}
			return "", err
		}
		var labels []int
		if tap.keep {
			labels = tap.labels
			if labels == nil {
				labels = []int{}
			}
		}
		b, err := EncodeResult(sink.scores, labels)
		if err != nil {
			return "", Permanent(err)
		}
		if _, err := c.data.PutBytes(ctx, spec.Result, b); err != nil {
			return "", fmt.Errorf("storing the scores: %w", err)
		}
		return spec.Result, nil
	}
}

// countTap counts the rows a partition's source gives and keeps their labels.
type countTap struct {
	dataset.Source
	p      *Progress
	keep   bool
	labels []int
}

func (t *countTap) Next(ctx context.Context) (*dataset.Matrix, error) {
	x, err := t.Source.Next(ctx)
	if err == nil {
		t.p.Add(int64(x.Rows))
		if t.keep {
			t.labels = append(t.labels, t.Source.Labels()...)
		}
	}
	return x, err
}

// collectSink keeps the scores of a partition.
type collectSink struct{ scores []float64 }

func (s *collectSink) Write(scores []float64, _ []bool) error {
	s.scores = append(s.scores, scores...)
	return nil
}

func (s *collectSink) Close() error { return nil }

// ScoreRequest is a file to score across the cluster's workers.
type ScoreRequest struct {
	Layout    *Layout
	Model     *detector.Model
	Label     string
	ChunkRows int
	// Interval is how often Progress is called (default 1 s).
	Interval time.Duration
	Progress func(RunProgress)
}

// PartScores is one partition's scores, as Score hands them on in input order.
type PartScores struct {
	Part   Partition
	Scores []float64
	Labels []int // nil without a label column
	State  *JobState
}

// ScoreSummary is what a distributed scoring run did.
type ScoreSummary struct {
	Run         string         `json:"run"`
	Parts       int            `json:"parts"`
	Rows        int64          `json:"rows"`
	Seconds     float64        `json:"seconds"`      // wall time, queueing to the last partition gathered
	WorkSeconds float64        `json:"work_seconds"` // the workers' time on the partitions gathered
	ByWorker    map[string]int `json:"by_worker"`    // partitions gathered from each worker
	Machines    []string       `json:"machines"`     // the distinct machines that scored
	Retried     int            `json:"retried"`      // partitions done on a second or later attempt
}

// Score scores every partition of req.Layout with req.Model on the cluster's workers and
// hands each partition's scores to sink once, in input order, as soon as it and every
// partition before it are done; a partition's result leaves the object store once handed on,
// so memory holds about one partition's scores. It fails as soon as a partition is dead
// (its error says which and why), and drops the jobs not yet taken when it fails or ctx ends.
func (c *Conn) Score(ctx context.Context, req ScoreRequest, sink func(*PartScores) error) (*ScoreSummary, error) {
	l := req.Layout
	if l == nil || len(l.Parts) == 0 {
		return nil, errors.New("score: no partitions")
	}
	if len(l.Columns) != req.Model.Cols {
		return nil, fmt.Errorf("%s has %d feature columns, the model was fitted on %d: %w", l.Path, len(l.Columns), req.Model.Cols, detector.ErrDimension)
	}
	model, err := c.PutModel(ctx, req.Model)
	if err != nil {
		return nil, err
	}
	run := NewRunID()
	bare := *l
	bare.Parts = nil
	specs := make([]any, len(l.Parts))
	for i, p := range l.Parts {
		specs[i] = ScoreSpec{Layout: bare, Part: p, Label: req.Label, ChunkRows: req.ChunkRows, Model: model, Result: resultName(run, i)}
	}
	t0 := time.Now()
	b, err := c.SubmitRun(ctx, run, KindScore, specs)
	if err != nil {
		return nil, err
	}
	sum := &ScoreSummary{Run: run, Parts: len(l.Parts), ByWorker: map[string]int{}}
	machines := map[string]bool{}
	done := make([]*JobState, len(l.Parts))
	next := 0
	gather := func(s *JobState) error {
		done[s.Part] = s
		for next < len(done) && done[next] != nil {
			st := done[next]
			raw, err := c.data.GetBytes(ctx, st.Result)
			if err != nil {
				return fmt.Errorf("partition %d's scores (by worker %s): %w", next+1, st.Worker, err)
			}
			scores, labels, err := DecodeResult(raw)
			if err != nil {
				return fmt.Errorf("partition %d's scores (by worker %s): %w", next+1, st.Worker, err)
			}
			part := l.Parts[next]
			if part.Rows > 0 && int64(len(scores)) != part.Rows {
				return fmt.Errorf("partition %d: %d scores for %d rows (worker %s)", next+1, len(scores), part.Rows, st.Worker)
			}
			if (req.Label != "") != (labels != nil) {
				return fmt.Errorf("partition %d: labels missing or unasked (worker %s)", next+1, st.Worker)
			}
			if err := sink(&PartScores{Part: part, Scores: scores, Labels: labels, State: st}); err != nil {
				return err
			}
			_ = c.data.Delete(ctx, st.Result)
			sum.Rows += int64(len(scores))
			sum.WorkSeconds += st.Seconds
			sum.ByWorker[st.Worker]++
			if st.Attempt > 1 {
				sum.Retried++
			}
			if !machines[st.Machine] {
				machines[st.Machine] = true
				sum.Machines = append(sum.Machines, st.Machine)
			}
			done[next] = nil
			next++
		}
		return nil
	}
	if err := b.Wait(ctx, gather, req.Progress, req.Interval); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.Cancel(cctx)
		for i := next; i < len(l.Parts); i++ {
			_ = c.data.Delete(cctx, resultName(run, i))
		}
		return nil, err
	}
	sum.Seconds = time.Since(t0).Seconds()
	return sum, nil
}
