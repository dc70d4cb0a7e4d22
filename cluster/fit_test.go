package cluster

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// TestRemoteFit: a service hands a training job to a worker, which fits and saves the model
// through its own serving protocol; the service then serves that version, with the threshold
// a local fit gives. A fit of a detector changed since is refused (serving.ErrChanged).
func TestRemoteFit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newService := func() *serving.Service {
		c, err := cache.New(ctx, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s := serving.New(st, c, serving.Options{})
		t.Cleanup(s.Close)
		return s
	}
	here, there := newService(), newService() // the service, and the worker's own
	c := testConn(t, Options{AckWait: 2 * time.Second})
	startWorkers(t, c, 1, map[string]Handler{KindFit: FitHandler(c, st, there)})
	waitWorkers(t, c, 1) // else the fit, finding no worker alive, runs here

	det := &store.Detector{Name: "d", Algorithm: "isolation_forest", Parameters: []byte(`{"seed":4}`), Contamination: 0.1}
	if err := st.CreateDetector(ctx, det); err != nil {
		t.Fatal(err)
	}
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 400, Cols: 3, Contamination: 0.1, Seed: 9})
	local, err := det.NewModel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Fit(ctx, X); err != nil {
		t.Fatal(err)
	}
	m, err := det.NewModel()
	if err != nil {
		t.Fatal(err)
	}
	rf := &RemoteFitter{Conn: c, Service: here}
	f, err := rf.Fit(ctx, det, m, X)
	if err != nil {
		t.Fatal(err)
	}
	if f.Worker != "w1" {
		t.Fatalf("fitted by %q, want the worker w1", f.Worker)
	}
	if f.Version != det.Version+1 || m.Threshold != local.Threshold || m.Cols != 3 {
		t.Fatalf("version %d (detector at %d), threshold %v (local %v), cols %d", f.Version, det.Version, m.Threshold, local.Threshold, m.Cols)
	}
	live, err := here.Live(ctx, det.ID)
	if err != nil || live.Version != f.Version {
		t.Fatalf("live %v, %v", live, err)
	}
	got, _ := live.Score(ctx, X)
	want, _ := local.Score(ctx, X, nil)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 0 {
			t.Fatalf("row %d: %v, local fit %v", i, got[i], want[i])
		}
	}
	// det is now stale (its version is the one before the fit).
	if _, err := rf.Fit(ctx, det, m, X); !errors.Is(err, serving.ErrChanged) {
		t.Fatalf("stale fit: %v, want ErrChanged", err)
	}
}

// TestRemoteFitWithoutWorkers: with no worker that runs fit jobs alive, the fit runs here.
func TestRemoteFitWithoutWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ch, err := cache.New(ctx, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	svc := serving.New(st, ch, serving.Options{})
	defer svc.Close()
	c := testConn(t, Options{})
	startWorkers(t, c, 1, map[string]Handler{KindScore: ScoreHandler(c)}) // alive, but no fits
	det := &store.Detector{Name: "d", Algorithm: "hbos", Contamination: 0.1}
	if err := st.CreateDetector(ctx, det); err != nil {
		t.Fatal(err)
	}
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 100, Cols: 2, Seed: 2})
	m, _ := det.NewModel()
	f, err := (&RemoteFitter{Conn: c, Service: svc}).Fit(ctx, det, m, X)
	if err != nil || f.Worker != "" || !m.Fitted() {
		t.Fatalf("fit %+v, %v; want a local fit", f, err)
	}
}

// TestMatrixEncoding round-trips a matrix and refuses what is not one.
func TestMatrixEncoding(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 7, Cols: 2, Seed: 1})
	b := EncodeMatrix(X)
	Y, err := DecodeMatrix(b)
	if err != nil || Y.Rows != 7 || Y.Cols != 2 || Y.Data[13] != X.Data[13] {
		t.Fatalf("%v %v", Y, err)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append([]byte("GNYMATR2"), b[8:]...)} {
		if _, err := DecodeMatrix(bad); err == nil {
			t.Errorf("DecodeMatrix accepted %d bytes", len(bad))
		}
	}
}

// FuzzDecodeMatrix: any bytes decode to a valid matrix or an error, never a panic.
func FuzzDecodeMatrix(f *testing.F) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 3, Cols: 2, Seed: 1})
	f.Add(EncodeMatrix(X))
	f.Add([]byte(matrixMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Y, err := DecodeMatrix(b)
		if err != nil {
			return
		}
		if Y.Validate() != nil || string(EncodeMatrix(Y)) != string(b) {
			t.Fatal("decoded a matrix that does not encode back")
		}
	})
}

// waitWorkers waits until n workers have sent their first heartbeat.
func waitWorkers(t *testing.T, c *Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ws, err := c.Workers(context.Background())
		if err == nil && len(ws) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers alive, want %d (%v)", len(ws), n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
