package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	_ "github.com/gonomaly/gonomaly/detector/iforest"
	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// testConn connects to the test NATS server as a cluster of its own, deleted when the test
// ends.
func testConn(t *testing.T, opts Options) *Conn {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "t" + NewRunID()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Connect(ctx, testsvc.NATSURL(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropCluster(c) })
	return c
}

// dropCluster deletes a test cluster's stream and buckets and closes the connection.
func dropCluster(c *Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Destroy(ctx)
	c.nc.Close()
}

// startWorkers runs n in-process workers with handlers until the test ends.
func startWorkers(t *testing.T, c *Conn, n int, handlers map[string]Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		w := &Worker{Conn: c, Name: fmt.Sprintf("w%d", i+1), Handlers: handlers, Log: workerLog()}
		wg.Go(func() { _ = w.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// writeData writes a labelled CSV of rows rows and returns its path, the table and a model
// fitted on its first rows.
func writeData(t *testing.T, rows int) (string, *dataset.Table, *detector.Model) {
	t.Helper()
	X, labels := dataset.Synthetic(dataset.SyntheticConfig{Rows: rows, Cols: 4, Contamination: 0.05, Seed: 3})
	var b bytes.Buffer
	b.WriteString("a,b,c,d,label\n")
	for i := range X.Rows {
		r := X.Row(i)
		fmt.Fprintf(&b, "%g,%g,%g,%g,%d\n", r[0], r[1], r[2], r[3], labels[i])
	}
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := dataset.ReadCSVFile(path, dataset.Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := detector.NewModel("isolation_forest", map[string]any{"seed": 1}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	fitX := &dataset.Matrix{Rows: 500, Cols: tab.X.Cols, Data: tab.X.Data[:500*tab.X.Cols]}
	if _, err := m.Fit(context.Background(), fitX); err != nil {
		t.Fatal(err)
	}
	return path, tab, m
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats.go.(*Conn).doReconnect"))
}

// TestScore scores a file across three workers, in partitions of every size from a line to
// the whole file: every row is scored once, in input order, equal to scoring it here.
func TestScore(t *testing.T) {
	path, tab, m := writeData(t, 3000)
	want, err := m.Score(context.Background(), tab.X, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := testConn(t, Options{AckWait: 2 * time.Second})
	startWorkers(t, c, 3, map[string]Handler{KindScore: ScoreHandler(c)})
	for _, partBytes := range []int64{1 << 10, 7 << 10, 1 << 30} {
		t.Run(fmt.Sprint(partBytes), func(t *testing.T) {
			l, err := Split(path, "label", partBytes)
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			var labels []int
			next := 0
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sum, err := c.Score(ctx, ScoreRequest{Layout: l, Model: m, Label: "label", ChunkRows: 100}, func(p *PartScores) error {
				if p.Part.Part != next {
					return fmt.Errorf("partition %d handed on after %d", p.Part.Part, next-1)
				}
				next++
				got = append(got, p.Scores...)
				labels = append(labels, p.Labels...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || sum.Rows != int64(len(want)) || sum.Parts != len(l.Parts) {
				t.Fatalf("%d scores (summary %d rows, %d parts), want %d rows", len(got), sum.Rows, sum.Parts, len(want))
			}
			for i := range want {
				if got[i] != want[i] || labels[i] != tab.Labels[i] {
					t.Fatalf("row %d: score %v label %d, want %v %d", i+1, got[i], labels[i], want[i], tab.Labels[i])
				}
			}
			if partBytes == 1<<10 && len(sum.ByWorker) < 2 {
				t.Logf("only %v took partitions", sum.ByWorker) // possible, not wrong
			}
		})
	}
}

// TestSplitCSV: partitions of any size cover every data line once, each starting at a line.
func TestSplitCSV(t *testing.T) {
	path, tab, _ := writeData(t, 700)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range []int64{1 << 10, 1<<10 + 7, 3 << 10, 1 << 20} {
		l, err := Split(path, "label", pb)
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		prevEnd := int64(len(l.Header) + 1)
		for _, p := range l.Parts {
			if p.Start != prevEnd || (p.Start > 0 && raw[p.Start-1] != '\n') {
				t.Fatalf("part %d starts at %d after %d", p.Part, p.Start, prevEnd)
			}
			prevEnd = p.End
			src, closer, err := l.Open(p, dataset.Options{Label: "label"})
			if err != nil {
				t.Fatal(err)
			}
			tb, err := dataset.ReadAll(context.Background(), src)
			closer.Close()
			if err != nil {
				t.Fatal(err)
			}
			rows += tb.X.Rows
		}
		if prevEnd != int64(len(raw)) || rows != tab.X.Rows {
			t.Fatalf("partitions of %d bytes: end %d of %d, %d rows of %d", pb, prevEnd, len(raw), rows, tab.X.Rows)
		}
	}
}

// TestSplitParquet: row groups are split whole and read back exactly.
func TestSplitParquet(t *testing.T) {
	_, tab, m := writeData(t, 2000)
	path := filepath.Join(t.TempDir(), "data.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteParquet(f, tab, "label", 300); err != nil {
		t.Fatal(err)
	}
	f.Close()
	l, err := Split(path, "label", 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != "parquet" || len(l.Parts) < 2 {
		t.Fatalf("format %s, %d parts", l.Format, len(l.Parts))
	}
	var total int64
	for _, p := range l.Parts {
		total += p.Rows
	}
	if total != 2000 {
		t.Fatalf("parts hold %d rows", total)
	}
	c := testConn(t, Options{AckWait: 2 * time.Second})
	startWorkers(t, c, 2, map[string]Handler{KindScore: ScoreHandler(c)})
	want, _ := m.Score(context.Background(), tab.X, nil)
	var got []float64
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.Score(ctx, ScoreRequest{Layout: l, Model: m, Label: "label"}, func(p *PartScores) error {
		got = append(got, p.Scores...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %v, want %v", i+1, got[i], want[i])
		}
	}
}

// TestSplitRefuses: inputs that cannot be split say why.
func TestSplitRefuses(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "x.csv.gz")
	os.WriteFile(gz, []byte{0x1f, 0x8b, 8, 0}, 0o644)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, []byte("a,b\n"), 0o644)
	for _, tc := range []struct{ path, want string }{
		{gz, "gzip"}, {empty, "no data"}, {dir, "not a regular file"}, {filepath.Join(dir, "none.csv"), "no such file"},
	} {
		_, err := Split(tc.path, "", 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Split(%s) = %v, want an error saying %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

// TestFileChanged: a file changed after it was laid out is a dead job, not mixed scores.
func TestFileChanged(t *testing.T) {
	path, _, m := writeData(t, 500)
	l, err := Split(path, "label", 0)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	c := testConn(t, Options{AckWait: 2 * time.Second})
	startWorkers(t, c, 1, map[string]Handler{KindScore: ScoreHandler(c)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = c.Score(ctx, ScoreRequest{Layout: l, Model: m, Label: "label"}, func(*PartScores) error { return nil })
	var dead *DeadError
	if !errors.As(err, &dead) || !strings.Contains(dead.Err, "changed since the run began") || dead.State.Attempt != 1 {
		t.Fatalf("err = %v, want a dead job at its first attempt saying the file changed", err)
	}
}

// TestRetryThenDead: a job that keeps failing is tried MaxDeliver times, then dead with its
// error; one that fails once and then works is done. Delivery is at least once: on a loaded
// machine JetStream may hand a job to a second worker while the first still holds it, so a
// handler can run once more than its attempts; the bound is on attempts, never endless.
func TestRetryThenDead(t *testing.T) {
	c := testConn(t, Options{AckWait: time.Second, MaxDeliver: 3})
	var calls sync.Map // part -> *atomic.Int32
	startWorkers(t, c, 2, map[string]Handler{"flaky": func(ctx context.Context, j *Job, p *Progress) (string, error) {
		n, _ := calls.LoadOrStore(j.Part, new(atomic.Int32))
		k := n.(*atomic.Int32).Add(1)
		if j.Part == 1 || k == 1 {
			return "", fmt.Errorf("failure %d of part %d", k, j.Part)
		}
		p.Add(10)
		return "ok", nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := c.Submit(ctx, "flaky", []any{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Wait(ctx, nil, nil, 0)
	var dead *DeadError
	if !errors.As(err, &dead) || dead.Part != 1 || !regexp.MustCompile(`^failure [0-9]+ of part 1$`).MatchString(dead.Err) {
		t.Fatalf("err = %v, want part 2 dead with its handler's error", err)
	}
	if dead.State.Attempt < 3 {
		t.Fatalf("part 2 dead at attempt %d, want its third", dead.State.Attempt)
	}
	// Part 0 (failed once) ends done on its second attempt.
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.State(ctx, b.Run, 0)
		if err == nil && s.State == StateDone {
			if s.Attempt < 2 || s.Rows != 10 {
				t.Fatalf("part 1 done at attempt %d with %d rows, want its second (or a duplicate's) and 10", s.Attempt, s.Rows)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("part 1 never done: %+v, %v", s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Tried three times, and not again once dead (within a second, a redelivery would come).
	time.Sleep(1500 * time.Millisecond)
	if n, _ := calls.Load(1); n.(*atomic.Int32).Load() < 3 || n.(*atomic.Int32).Load() > 4 {
		t.Fatalf("part 2 tried %d times, want 3 (4 with a duplicate delivery)", n.(*atomic.Int32).Load())
	}
}

// TestPermanentAndPanic: a permanent error or a panic ends the job at once, dead; the worker
// goes on with the next job.
func TestPermanentAndPanic(t *testing.T) {
	c := testConn(t, Options{AckWait: time.Second, MaxDeliver: 5})
	var calls atomic.Int32
	startWorkers(t, c, 1, map[string]Handler{
		"perm": func(context.Context, *Job, *Progress) (string, error) {
			calls.Add(1)
			return "", Permanent(io.ErrUnexpectedEOF)
		},
		"boom": func(context.Context, *Job, *Progress) (string, error) { calls.Add(1); panic("boom") },
		"fine": func(context.Context, *Job, *Progress) (string, error) { return "r", nil },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, kind := range []string{"perm", "boom"} {
		b, err := c.Submit(ctx, kind, []any{1})
		if err != nil {
			t.Fatal(err)
		}
		var dead *DeadError
		if err := b.Wait(ctx, nil, nil, 0); !errors.As(err, &dead) {
			t.Fatalf("%s: %v, want dead", kind, err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls, want one each", calls.Load())
	}
	b, err := c.Submit(ctx, "fine", []any{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(ctx, nil, nil, 0); err != nil {
		t.Fatal(err)
	}
}

// TestUnanswered: a job whose workers take it and die (here: fetched and never answered)
// MaxDeliver times is dead, through JetStream's advisory, and no longer on the queue.
func TestUnanswered(t *testing.T) {
	c := testConn(t, Options{AckWait: 300 * time.Millisecond, MaxDeliver: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := c.Submit(ctx, "score", []any{1})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- b.Wait(ctx, nil, nil, 0) }()
	taken := 0
	for taken < 4 { // keep pulling: the server sends the advisory on the pull after the last
		mb, err := c.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for range mb.Messages() {
			taken++ // and never acknowledged: a worker killed mid-job
		}
		select {
		case err := <-errc:
			var dead *DeadError
			if !errors.As(err, &dead) || !strings.Contains(dead.Err, "handed out 2 times") {
				t.Fatalf("Wait = %v, want dead after 2 deliveries", err)
			}
			if taken != 2 {
				t.Fatalf("taken %d times, want 2", taken)
			}
			info, err := c.stream.Info(ctx)
			if err != nil || info.State.Msgs != 0 {
				t.Fatalf("the dead job is still queued: %v %v", info.State.Msgs, err)
			}
			return
		default:
		}
		if ctx.Err() != nil {
			t.Fatal("no advisory")
		}
	}
	t.Fatalf("taken %d times and not dead", taken)
}

// TestAlreadyDone: a job redelivered after it was recorded done (its worker died before
// acknowledging) is acknowledged without running again.
func TestAlreadyDone(t *testing.T) {
	c := testConn(t, Options{AckWait: 500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := c.Submit(ctx, "count", []any{1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.putState(ctx, &JobState{Run: b.Run, Part: 0, Kind: "count", State: StateDone, Result: "earlier"}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	startWorkers(t, c, 1, map[string]Handler{"count": func(context.Context, *Job, *Progress) (string, error) {
		calls.Add(1)
		return "again", nil
	}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := c.stream.Info(ctx)
		if err == nil && info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job was never acknowledged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, _ := c.State(ctx, b.Run, 0)
	if calls.Load() != 0 || s.Result != "earlier" {
		t.Fatalf("ran %d times, result %q", calls.Load(), s.Result)
	}
}

// TestWorkersListed: running workers are listed with their machine; a stopped one leaves.
func TestWorkersListed(t *testing.T) {
	c := testConn(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{Conn: c, Name: "listed", Handlers: map[string]Handler{"x": nil}, Log: quiet}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ws, err := c.Workers(context.Background())
		if err == nil && len(ws) == 1 && ws[0].Name == "listed" && ws[0].Machine != "" && ws[0].Slots == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers %+v, %v", ws, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run after Stop = %v", err)
	}
	cancel()
	if ws, _ := c.Workers(context.Background()); len(ws) != 0 {
		t.Fatalf("a stopped worker is still listed: %+v", ws)
	}
}

// quiet is the workers' logger in tests.
var quiet = slog.New(slog.DiscardHandler)

// TestStatus: the queue's depth and the workers, as the dashboard shows them.
func TestStatus(t *testing.T) {
	c := testConn(t, Options{AckWait: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Submit(ctx, "nobody", []any{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 3 || st.Running != 0 || len(st.Workers) != 0 || st.Name != c.Name() {
		t.Fatalf("%+v", st)
	}
}

// workerLog is the test workers' logger: quiet, or on stderr with CLUSTER_TEST_LOG=1 (to see
// each attempt of a job when a test fails).
func workerLog() *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return quiet
}
