package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

func testTimes(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2026, 9, 1, 10, 30, 0, 123456789, zone)
	want := time.Date(2026, 9, 1, 5, 0, 0, 123456000, time.UTC)
	d := newDetector("t", "knn")
	d.CreatedAt = at
	create(t, s, d)
	got, err := s.GetDetector(ctx, d.ID)
	wantErr(t, "GetDetector", err, nil)
	for name, v := range map[string]time.Time{"returned by CreateDetector": d.CreatedAt, "read back": got.CreatedAt} {
		if !v.Equal(want) || v.Location() != time.UTC {
			t.Errorf("CreatedAt %s = %v, want %v", name, v, want)
		}
	}
	if err := s.AddSamples(ctx, store.Sample{Time: at, Name: "m", Value: 1}); err != nil {
		t.Fatal(err)
	}
	ss, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "m", From: want, To: want.Add(time.Microsecond)})
	if len(ss) != 1 || !ss[0].Time.Equal(want) || ss[0].Time.Location() != time.UTC {
		t.Fatalf("sample time read back as %v", ss)
	}
}

// testConcurrentWrites: many goroutines write results at once (the server's writers), others
// read; nothing is lost and nothing fails.
func testConcurrentWrites(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	var dets []string
	for i := range 4 {
		dets = append(dets, create(t, s, newDetector(fmt.Sprintf("d%d", i), "knn")).ID)
	}
	const writers, each = 16, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers+4)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := &store.Result{DetectorID: dets[(w+i)%len(dets)], NSamples: 2, Scores: []float64{float64(w), float64(i)}, Anomalies: 1, Threshold: 0.5}
				if i%3 == 2 { // every third call writes a batch of three
					r2, r3 := *r, *r
					if err := s.CreateResults(ctx, r, &r2, &r3); err != nil {
						errs <- err
						return
					}
					continue
				}
				if err := s.CreateResults(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.GetDetectors(ctx, dets); err != nil {
					errs <- err
					return
				}
				if _, err := s.ListResults(ctx, store.ResultFilter{DetectorID: dets[0], Limit: 10}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, id := range dets {
		rs, err := s.ListResults(ctx, store.ResultFilter{DetectorID: id, Limit: 10_000})
		wantErr(t, "ListResults", err, nil)
		total += len(rs)
	}
	if want := writers * (each/3*(2+3) + each%3); total != want {
		t.Fatalf("%d results stored, want %d", total, want)
	}
}

// testLoad: 16 concurrent clients, each doing the server's mix of calls, against a store
// opened with the default Options: the defaults must hold (no pool timeouts, no errors).
func testLoad(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	tg := fresh(t)
	tg.Options = store.Options{}
	s := open(t, tg)
	var ids []string
	for i := range 20 {
		d := create(t, s, newDetector(fmt.Sprintf("d%d", i), "isolation_forest"))
		if _, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(i, 16<<10), Threshold: 0.5, NFeatures: 8}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	const clients, calls = 16, 120
	lat := make([][]time.Duration, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		wg.Go(func() {
			scores := make([]float64, 32)
			for i := range calls {
				id := ids[(c*7+i)%len(ids)]
				start := time.Now()
				var err error
				switch i % 4 {
				case 0:
					_, err = s.GetDetector(ctx, id)
				case 1:
					err = s.CreateResults(ctx, &store.Result{DetectorID: id, NSamples: len(scores), Scores: scores, Threshold: 0.5})
				case 2:
					_, err = s.GetDetectors(ctx, ids)
				case 3:
					_, err = s.ListResults(ctx, store.ResultFilter{DetectorID: id, Limit: 20})
				}
				if err != nil {
					errs <- fmt.Errorf("client %d call %d: %w", c, i, err)
					return
				}
				lat[c] = append(lat[c], time.Since(start))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	p := func(q float64) time.Duration { return all[int(q*float64(len(all)-1))] }
	t.Logf("%d clients x %d calls with default Options: %.0f calls/s, p50 %v, p99 %v, max %v",
		clients, calls, float64(len(all))/elapsed.Seconds(), p(0.5), p(0.99), all[len(all)-1])
	if ps, ok := s.(store.PoolStater); ok {
		st := ps.PoolStats()
		t.Logf("pool: max %d, open %d, waits %d (%v)", st.MaxConns, st.OpenConns, st.WaitCount, st.WaitDuration)
	}
}

// testReopen: close the store, open the same database again: everything is still there.
func testReopen(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	tg := fresh(t)
	s, err := store.Open(ctx, tg.URL, tg.Options)
	wantErr(t, "Open", err, nil)
	d := newDetector("kept", "ecod")
	wantErr(t, "CreateDetector", s.CreateDetector(ctx, d), nil)
	saved, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(3, 5000), Threshold: 2.5, NFeatures: 4, TrainingTime: time.Second})
	wantErr(t, "SaveModel", err, nil)
	ds := &store.Dataset{Name: "x.csv", NSamples: 1, NFeatures: 1, FileFormat: "csv", Data: []byte("a\n1\n")}
	r := &store.Result{DetectorID: d.ID, NSamples: 2, Scores: []float64{1, 2}, Anomalies: 1, Threshold: 1.5}
	run := &store.BenchmarkRun{SuiteID: "s", Kind: store.KindCompare, Name: "c", Document: json.RawMessage(`{"version":1}`)}
	smp := store.Sample{Time: time.Now(), Name: "rss_mb", Value: 12.5, Labels: map[string]string{"host": "a"}}
	al := &store.Alert{Severity: "high", Metric: "rss_mb", Message: "m", Value: 12.5, Threshold: 10}
	wantErr(t, "CreateDataset", s.CreateDataset(ctx, ds), nil)
	wantErr(t, "CreateResults", s.CreateResults(ctx, r), nil)
	wantErr(t, "CreateBenchmarkRun", s.CreateBenchmarkRun(ctx, run), nil)
	wantErr(t, "AddSamples", s.AddSamples(ctx, smp), nil)
	wantErr(t, "CreateAlert", s.CreateAlert(ctx, al), nil)
	wantErr(t, "Close", s.Close(), nil)

	s = open(t, tg)
	gd, err := s.GetDetector(ctx, d.ID)
	wantErr(t, "GetDetector after reopen", err, nil)
	if df := diff(gd, saved); df != "" {
		t.Errorf("detector after reopen: %s", df)
	}
	gds, err := s.GetDataset(ctx, ds.ID)
	wantErr(t, "GetDataset after reopen", err, nil)
	if df := diff(gds, ds); df != "" {
		t.Errorf("dataset after reopen: %s", df)
	}
	gr, err := s.GetResult(ctx, r.ID)
	wantErr(t, "GetResult after reopen", err, nil)
	if df := diff(gr, r); df != "" {
		t.Errorf("result after reopen: %s", df)
	}
	grun, err := s.GetBenchmarkRun(ctx, run.ID)
	wantErr(t, "GetBenchmarkRun after reopen", err, nil)
	if df := diff(grun, run); df != "" {
		t.Errorf("benchmark run after reopen: %s", df)
	}
	ss, err := s.QuerySamples(ctx, store.SampleQuery{Name: "rss_mb"})
	wantErr(t, "QuerySamples after reopen", err, nil)
	smp.Time = smp.Time.UTC().Truncate(time.Microsecond)
	if len(ss) != 1 || diff(ss[0], smp) != "" {
		t.Errorf("samples after reopen: %+v, want %+v", ss, smp)
	}
	ga, err := s.GetAlert(ctx, al.ID)
	wantErr(t, "GetAlert after reopen", err, nil)
	if df := diff(ga, al); df != "" {
		t.Errorf("alert after reopen: %s", df)
	}
}

// testMigrations: opening a database again (while it is open, and from several goroutines at
// once, as two processes starting together would) applies nothing twice and loses nothing.
func testMigrations(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	tg := fresh(t)
	const n = 4
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = store.Open(ctx, tg.URL, tg.Options) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent Open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	d := create(t, stores[0], newDetector("m", "knn"))
	again := open(t, tg) // a fifth Open, with the others still open
	for i, s := range append(stores, again) {
		if _, err := s.GetDetector(ctx, d.ID); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	if err := again.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testClose(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	tg := fresh(t)
	s, err := store.Open(ctx, tg.URL, tg.Options)
	wantErr(t, "Open", err, nil)
	wantErr(t, "Ping", s.Ping(ctx), nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.GetDetector(cctx, missingID); !errors.Is(err, context.Canceled) {
		t.Errorf("GetDetector with a cancelled context: %v, want context.Canceled", err)
	}
	wantErr(t, "Close", s.Close(), nil)
	if _, err := s.GetDetector(ctx, missingID); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDetector after Close: %v, want an error that is not ErrNotFound", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
}
