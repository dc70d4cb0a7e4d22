package serving_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// env is a Service over a fresh SQLite store and an in-process cache.
func env(t testing.TB) (*serving.Service, store.Store, *cache.Cache) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(ctx, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := serving.New(st, c, serving.Options{})
	t.Cleanup(func() { s.Close(); c.Close(); st.Close() })
	return s, st, c
}

func data(n, d int, seed uint64) *dataset.Matrix {
	r := rand.New(rand.NewPCG(seed, 2))
	X := dataset.NewMatrix(n, d)
	for i := range X.Data {
		X.Data[i] = r.NormFloat64()
	}
	return X
}

// newDetector stores an unfitted detector and returns it with its model.
func newDetector(t testing.TB, st store.Store, algorithm string) (*store.Detector, *detector.Model) {
	t.Helper()
	d := &store.Detector{Name: "d", Algorithm: algorithm, Contamination: 0.1}
	if err := st.CreateDetector(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	m, err := d.NewModel()
	if err != nil {
		t.Fatal(err)
	}
	return d, m
}

func TestLiveServesTheFittedVersion(t *testing.T) {
	ctx := context.Background()
	s, st, _ := env(t)
	d, m := newDetector(t, st, "hbos")
	if _, err := s.Live(ctx, d.ID); !errors.Is(err, serving.ErrNotFitted) || !errors.Is(err, detector.ErrNotFitted) {
		t.Fatalf("Live of an unfitted detector: %v, want ErrNotFitted", err)
	}
	if _, err := s.Live(ctx, "01a23b87-5fab-7bc0-bdd1-62489761fcd4"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Live of an unknown detector: %v, want store.ErrNotFound", err)
	}
	f, err := s.Fit(ctx, d, m, data(300, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Live(ctx, d.ID)
	if err != nil || l.Version != f.Version || l.Model != m {
		t.Fatalf("Live after Fit: %+v, %v; want version %d and the fitted model", l, err, f.Version)
	}
	Q := data(5, 4, 2)
	got, err := l.Score(ctx, Q)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.Score(ctx, Q, nil)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// A second Service over the same store and a cache of its own (another process) reads the
// model from the store, decodes it once for many concurrent callers, and scores as the first.
func TestAnotherInstanceDecodesOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c1, _ := cache.New(ctx, cache.Options{})
	c2, _ := cache.New(ctx, cache.Options{})
	defer c1.Close()
	defer c2.Close()
	a, b := serving.New(st, c1, serving.Options{}), serving.New(st, c2, serving.Options{})
	defer a.Close()
	defer b.Close()
	d, m := newDetector(t, st, "isolation_forest")
	if _, err := a.Fit(ctx, d, m, data(1000, 6, 3)); err != nil {
		t.Fatal(err)
	}
	Q := data(1, 6, 4)
	want, _ := m.Score(ctx, Q, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := b.Live(ctx, d.ID)
			if err != nil {
				t.Error(err)
				return
			}
			got, err := l.Score(ctx, Q)
			if err != nil || got[0] != want[0] {
				t.Errorf("score %v, %v; want %v", got, err, want[0])
			}
		}()
	}
	wg.Wait()
	if n := b.Decoded(); n != 1 {
		t.Fatalf("decoded %d times for 16 concurrent callers, want 1", n)
	}
}

// A Fit that started from an old version does not overwrite a newer one: ErrChanged, and the
// newer model stays served.
func TestFitOfAStaleVersionIsRefused(t *testing.T) {
	ctx := context.Background()
	s, st, _ := env(t)
	d, m := newDetector(t, st, "hbos")
	stale := *d
	f1, err := s.Fit(ctx, d, m, data(200, 3, 5))
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := stale.NewModel()
	_, err = s.Fit(ctx, &stale, m2, data(200, 3, 6))
	if !errors.Is(err, serving.ErrChanged) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Fit from a stale version: %v, want ErrChanged", err)
	}
	l, err := s.Live(ctx, d.ID)
	if err != nil || l.Version != f1.Version || l.Model != m {
		t.Fatalf("after the refused Fit: %+v, %v; want version %d", l, err, f1.Version)
	}
}

// Retraining serves the new version at once; Forget stops serving a deleted detector.
func TestRetrainAndForget(t *testing.T) {
	ctx := context.Background()
	s, st, _ := env(t)
	d, m := newDetector(t, st, "hbos")
	f1, err := s.Fit(ctx, d, m, data(200, 3, 7))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := st.GetDetector(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := d2.NewModel()
	f2, err := s.Fit(ctx, d2, m2, data(200, 3, 8))
	if err != nil || f2.Version <= f1.Version {
		t.Fatalf("retrain: %+v, %v", f2, err)
	}
	l, _ := s.Live(ctx, d.ID)
	if l.Version != f2.Version || l.Model != m2 {
		t.Fatalf("after retraining: version %d, want %d", l.Version, f2.Version)
	}
	if err := st.DeleteDetector(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	s.Forget(ctx, d.ID, f2.Version)
	if _, err := s.Live(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Live after delete and Forget: %v, want store.ErrNotFound", err)
	}
}
