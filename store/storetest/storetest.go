package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// Target is a fresh, empty database for one test: the URL store.Open opens it with (its back
// end must be imported) and the Options for it. Opening the URL again opens the same
// database, which the suite does to check persistence and migrations.
type Target struct {
	URL     string
	Options store.Options
}

// Fresh makes a new, empty database for t and removes it when t ends.
type Fresh func(t testing.TB) Target

// Run runs the conformance suite against the back end that fresh provides.
func Run(t *testing.T, fresh Fresh) {
	t.Helper()
	checks := []struct {
		name string
		fn   func(t *testing.T, fresh Fresh)
	}{
		{"Detectors", testDetectors},
		{"DetectorErrors", testDetectorErrors},
		{"SaveModel", testSaveModel},
		{"GetDetectors", testGetDetectors},
		{"SetFitted", testSetFitted},
		{"AtomicModelSave", testAtomicModelSave},
		{"ListDetectors", testListDetectors},
		{"Datasets", testDatasets},
		{"Results", testResults},
		{"BenchmarkRuns", testBenchmarkRuns},
		{"Metrics", testMetrics},
		{"Alerts", testAlerts},
		{"Times", testTimes},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Load", testLoad},
		{"Reopen", testReopen},
		{"Migrations", testMigrations},
		{"Close", testClose},
		{"HostileText", testHostileText},
		{"HostileIDs", testHostileIDs},
		{"MissingDetectors", testMissingDetectors},
		{"DeleteDetectorRace", testDeleteDetectorRace},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, fresh) })
	}
}

// open opens the target and closes it when t ends.
func open(t testing.TB, tg Target) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), tg.URL, tg.Options)
	if err != nil {
		t.Fatalf("Open(%q): %v", tg.URL, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantErr fails t unless err wraps target (nil: no error).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: error %v, want one wrapping %q", what, err, target)
	}
}

// diff describes how got differs from want, field by field ("" when equal): times compare
// with Equal and byte slices by content, everything else with reflect.DeepEqual.
func diff(got, want any) string {
	gv, wv := reflect.Indirect(reflect.ValueOf(got)), reflect.Indirect(reflect.ValueOf(want))
	var out []string
	for i := range gv.NumField() {
		f := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		var same bool
		switch g := g.(type) {
		case time.Time:
			same = g.Equal(w.(time.Time))
		case []byte:
			same = bytes.Equal(g, w.([]byte))
		case json.RawMessage:
			same = bytes.Equal(g, w.(json.RawMessage))
		default:
			same = reflect.DeepEqual(g, w)
		}
		if !same {
			out = append(out, fmt.Sprintf("%s = %v, want %v", f, short(g), short(w)))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprint(out)
}

func short(v any) any {
	if b, ok := v.([]byte); ok && len(b) > 32 {
		return fmt.Sprintf("%d bytes %x...", len(b), b[:16])
	}
	if b, ok := v.(json.RawMessage); ok {
		return string(b)
	}
	return v
}

// Well-formed ids (see store.MaxNameBytes for the rule): one a caller gives a record, one that no
// record has.
const (
	callerID  = "01900000-0000-7000-8000-00000000beef"
	missingID = "00000000-0000-7000-8000-000000000000"
)

func newDetector(name, algorithm string) *store.Detector {
	return &store.Detector{Name: name, Algorithm: algorithm, Parameters: json.RawMessage(`{"n_estimators":100}`), Contamination: 0.1}
}

func create(t testing.TB, s store.Store, d *store.Detector) *store.Detector {
	t.Helper()
	if err := s.CreateDetector(context.Background(), d); err != nil {
		t.Fatalf("CreateDetector(%s): %v", d.Name, err)
	}
	return d
}

// model is recognisable model bytes for step i: size bytes that encode i.
func model(i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, size)
	copy(b, fmt.Sprintf("model-%d;", i))
	return b
}

func testDetectors(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))

	d := newDetector("fraud", "isolation_forest")
	before := time.Now().Add(-time.Second)
	create(t, s, d)
	if d.ID == "" || d.Version != 1 || d.CreatedAt.Before(before) || !d.UpdatedAt.Equal(d.CreatedAt) || d.IsFitted {
		t.Fatalf("after CreateDetector: id %q, version %d, created %v, updated %v, fitted %v", d.ID, d.Version, d.CreatedAt, d.UpdatedAt, d.IsFitted)
	}
	got, err := s.GetDetector(ctx, d.ID)
	wantErr(t, "GetDetector", err, nil)
	if df := diff(got, d); df != "" {
		t.Fatalf("GetDetector differs from what was created: %s", df)
	}

	// A caller's id is kept; parameters default to {}.
	d2 := &store.Detector{ID: callerID, Name: "b", Algorithm: "knn", Contamination: 0.05}
	create(t, s, d2)
	got, err = s.GetDetector(ctx, callerID)
	wantErr(t, "GetDetector(caller's id)", err, nil)
	if string(got.Parameters) != "{}" || got.Algorithm != "knn" || got.Contamination != 0.05 {
		t.Fatalf("GetDetector(my-id) = %+v", got)
	}

	// Renaming keeps the fit; changing the parameters drops it.
	if _, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(1, 100), Threshold: 0.5, NFeatures: 3}); err != nil {
		t.Fatal(err)
	}
	upd := *d
	upd.Name, upd.Version = "fraud-renamed", 0
	wantErr(t, "UpdateDetector(rename)", s.UpdateDetector(ctx, &upd), nil)
	if upd.Name != "fraud-renamed" || !upd.IsFitted || upd.NFeatures != 3 || upd.Version != 3 || upd.Model != nil {
		t.Fatalf("after rename: %+v", upd)
	}
	got, _ = s.GetDetector(ctx, d.ID)
	if !got.IsFitted || !bytes.Equal(got.Model, model(1, 100)) || got.Name != "fraud-renamed" {
		t.Fatalf("rename lost the model: fitted %v, %d model bytes, name %q", got.IsFitted, len(got.Model), got.Name)
	}
	upd.Parameters = json.RawMessage(`{"n_estimators":200}`)
	wantErr(t, "UpdateDetector(parameters)", s.UpdateDetector(ctx, &upd), nil)
	got, _ = s.GetDetector(ctx, d.ID)
	if got.IsFitted || got.Model != nil || got.Threshold != 0 || got.NFeatures != 0 || got.TrainingTime != 0 || got.Version != 4 {
		t.Fatalf("new parameters kept the old fit: %+v", got)
	}
	if string(got.Parameters) != `{"n_estimators":200}` || got.UpdatedAt.Before(d.CreatedAt) {
		t.Fatalf("after update: parameters %s, updated %v", got.Parameters, got.UpdatedAt)
	}

	// Optimistic concurrency.
	stale := *got
	stale.Version = 3
	stale.Name = "lost update"
	wantErr(t, "UpdateDetector(stale version)", s.UpdateDetector(ctx, &stale), store.ErrConflict)
	current := *got
	current.Name = "current"
	wantErr(t, "UpdateDetector(current version)", s.UpdateDetector(ctx, &current), nil)

	// Delete.
	wantErr(t, "DeleteDetector", s.DeleteDetector(ctx, d.ID), nil)
	_, err = s.GetDetector(ctx, d.ID)
	wantErr(t, "GetDetector after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteDetector twice", s.DeleteDetector(ctx, d.ID), store.ErrNotFound)
}

func testDetectorErrors(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	d := create(t, s, newDetector("a", "hbos"))

	for _, c := range []struct {
		name   string
		modify func(*store.Detector)
		want   error
	}{
		{"taken id", func(x *store.Detector) { x.ID = d.ID }, store.ErrConflict},
		{"id not a UUID", func(x *store.Detector) { x.ID = "my-id" }, store.ErrInvalid},
		{"empty name", func(x *store.Detector) { x.Name = "" }, store.ErrInvalid},
		{"empty algorithm", func(x *store.Detector) { x.Algorithm = "" }, store.ErrInvalid},
		{"contamination 0", func(x *store.Detector) { x.Contamination = 0 }, store.ErrInvalid},
		{"contamination 0.6", func(x *store.Detector) { x.Contamination = 0.6 }, store.ErrInvalid},
		{"parameters not JSON", func(x *store.Detector) { x.Parameters = json.RawMessage(`{n:1}`) }, store.ErrInvalid},
		{"parameters an array", func(x *store.Detector) { x.Parameters = json.RawMessage(`[1]`) }, store.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newDetector("b", "hbos")
			c.modify(x)
			err := s.CreateDetector(ctx, x)
			wantErr(t, "CreateDetector", err, c.want)
			if err != nil && !bytes.Contains([]byte(err.Error()), []byte("detector")) {
				t.Errorf("error %q does not say what it is about", err)
			}
		})
	}

	_, err := s.GetDetector(ctx, "no-such-id")
	wantErr(t, "GetDetector(missing)", err, store.ErrNotFound)
	if err != nil && !bytes.Contains([]byte(err.Error()), []byte("no-such-id")) {
		t.Errorf("error %q does not name the id", err)
	}
	missing := newDetector("x", "hbos")
	missing.ID = "no-such-id"
	wantErr(t, "UpdateDetector(missing)", s.UpdateDetector(ctx, missing), store.ErrNotFound)
	bad := *d
	bad.Contamination = -1
	wantErr(t, "UpdateDetector(invalid)", s.UpdateDetector(ctx, &bad), store.ErrInvalid)
}

func testSaveModel(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	d := create(t, s, newDetector("m", "isolation_forest"))

	m := store.FittedModel{Model: model(7, 200_000), Threshold: 0.625, NFeatures: 12, TrainingTime: 1234567 * time.Microsecond, IfVersion: d.Version}
	saved, err := s.SaveModel(ctx, d.ID, m)
	wantErr(t, "SaveModel", err, nil)
	if !saved.IsFitted || saved.Version != d.Version+1 || saved.Threshold != m.Threshold || saved.NFeatures != 12 ||
		saved.TrainingTime != m.TrainingTime || !bytes.Equal(saved.Model, m.Model) {
		t.Fatalf("SaveModel returned %+v", saved)
	}
	got, err := s.GetDetector(ctx, d.ID)
	wantErr(t, "GetDetector", err, nil)
	if df := diff(got, saved); df != "" {
		t.Fatalf("GetDetector after SaveModel: %s", df)
	}

	// A model trained from version 1 is not saved over version 2.
	m2 := m
	m2.Model = model(8, 100)
	_, err = s.SaveModel(ctx, d.ID, m2)
	wantErr(t, "SaveModel(stale IfVersion)", err, store.ErrConflict)
	got, _ = s.GetDetector(ctx, d.ID)
	if !bytes.Equal(got.Model, m.Model) {
		t.Fatal("a conflicting SaveModel changed the model")
	}
	m2.IfVersion = 0
	if _, err = s.SaveModel(ctx, d.ID, m2); err != nil {
		t.Fatalf("SaveModel without IfVersion: %v", err)
	}

	for _, c := range []struct {
		name string
		id   string
		m    store.FittedModel
		want error
	}{
		{"missing detector", "no-such-id", m2, store.ErrNotFound},
		{"no model bytes", d.ID, store.FittedModel{NFeatures: 2}, store.ErrInvalid},
		{"no features", d.ID, store.FittedModel{Model: []byte{1}}, store.ErrInvalid},
	} {
		_, err := s.SaveModel(ctx, c.id, c.m)
		wantErr(t, "SaveModel("+c.name+")", err, c.want)
	}
}

func testGetDetectors(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	var ds []*store.Detector
	for i := range 5 {
		d := create(t, s, newDetector(fmt.Sprintf("d%d", i), "knn"))
		if i%2 == 0 {
			if _, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(i, 1000), Threshold: float64(i), NFeatures: 2}); err != nil {
				t.Fatal(err)
			}
		}
		ds = append(ds, d)
	}
	got, err := s.GetDetectors(ctx, []string{ds[3].ID, "no-such-id", ds[0].ID, ds[3].ID, ds[4].ID})
	wantErr(t, "GetDetectors", err, nil)
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
		if d.Model != nil {
			t.Errorf("GetDetectors returned the model bytes of %s", d.Name)
		}
	}
	if want := []string{"d3", "d0", "d4"}; !slices.Equal(names, want) {
		t.Fatalf("GetDetectors returned %v, want %v (in the order asked, missing and repeated ids left out)", names, want)
	}
	if !got[1].IsFitted || got[0].IsFitted || got[2].Threshold != 4 {
		t.Fatalf("GetDetectors fit fields: %+v %+v %+v", got[0], got[1], got[2])
	}
	got, err = s.GetDetectors(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("GetDetectors(nil) = %v, %v", got, err)
	}

	// Many ids in one statement.
	ids := make([]string, 0, 2000)
	for i := range 2000 {
		ids = append(ids, fmt.Sprintf("00000000-0000-7000-8000-%012d", i))
	}
	ids = append(ids, ds[1].ID)
	got, err = s.GetDetectors(ctx, ids)
	if err != nil || len(got) != 1 || got[0].ID != ds[1].ID {
		t.Fatalf("GetDetectors(2001 ids) = %d detectors, %v", len(got), err)
	}
}

func testSetFitted(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	var ids []string
	for i := range 5 {
		d := create(t, s, newDetector(fmt.Sprintf("d%d", i), "hbos"))
		if i < 3 {
			if _, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(i, 10), Threshold: 1, NFeatures: 1}); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, d.ID)
	}
	all := append(slices.Clone(ids), "no-such-id")
	for _, step := range []struct {
		fitted bool
		want   int64
		state  []bool
	}{
		{false, 3, []bool{false, false, false, false, false}},
		{false, 0, []bool{false, false, false, false, false}},
		{true, 3, []bool{true, true, true, false, false}}, // only those holding a model
		{true, 0, []bool{true, true, true, false, false}},
	} {
		n, err := s.SetFitted(ctx, all, step.fitted)
		wantErr(t, "SetFitted", err, nil)
		if n != step.want {
			t.Fatalf("SetFitted(%v) changed %d detectors, want %d", step.fitted, n, step.want)
		}
		got, err := s.GetDetectors(ctx, ids)
		wantErr(t, "GetDetectors", err, nil)
		for i, d := range got {
			if d.IsFitted != step.state[i] {
				t.Fatalf("after SetFitted(%v): detector %d fitted = %v", step.fitted, i, d.IsFitted)
			}
		}
	}
	d, _ := s.GetDetector(ctx, ids[0])
	if !bytes.Equal(d.Model, model(0, 10)) || d.Version != 4 {
		t.Fatalf("SetFitted false then true: model %q, version %d (want the model back, version 4)", d.Model, d.Version)
	}
	if n, err := s.SetFitted(ctx, nil, true); n != 0 || err != nil {
		t.Fatalf("SetFitted(nil) = %d, %v", n, err)
	}
}

// testAtomicModelSave: while one goroutine alternately saves models and drops them (by
// changing the parameters), readers must never see a fitted detector without its own model,
// threshold and width, nor an unfitted one with fit fields left over.
func testAtomicModelSave(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	d := create(t, s, newDetector("atomic", "isolation_forest"))

	const steps = 150
	var done atomic.Bool
	var fittedSeen, unfittedSeen atomic.Int64
	check := func(x *store.Detector, withModel bool) error {
		if x.IsFitted {
			fittedSeen.Add(1)
			i := int(x.Threshold)
			if i <= 0 || x.NFeatures != i || x.TrainingTime != time.Duration(i)*time.Millisecond {
				return fmt.Errorf("fitted detector with threshold %v, %d features, training time %v", x.Threshold, x.NFeatures, x.TrainingTime)
			}
			if withModel && !bytes.Equal(x.Model, model(i, 8192)) {
				return fmt.Errorf("fitted detector at threshold %v holds %d other model bytes", x.Threshold, len(x.Model))
			}
			return nil
		}
		unfittedSeen.Add(1)
		if x.Threshold != 0 || x.NFeatures != 0 || withModel && x.Model != nil {
			return fmt.Errorf("unfitted detector with threshold %v, %d features, %d model bytes", x.Threshold, x.NFeatures, len(x.Model))
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Go(func() {
			for !done.Load() {
				var err error
				if r%2 == 0 {
					var x *store.Detector
					if x, err = s.GetDetector(ctx, d.ID); err == nil {
						err = check(x, true)
					}
				} else {
					var xs []*store.Detector
					if xs, err = s.GetDetectors(ctx, []string{d.ID}); err == nil {
						err = check(xs[0], false)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var werr error
	params := d.Parameters
	for i := 1; i <= steps && werr == nil; i++ {
		if i%2 == 1 {
			_, werr = s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(i, 8192), Threshold: float64(i), NFeatures: i, TrainingTime: time.Duration(i) * time.Millisecond})
		} else {
			x := *d
			x.Version = 0
			x.Parameters = json.RawMessage(fmt.Sprintf(`{"n_estimators":%d}`, 100+i))
			if string(x.Parameters) == string(params) {
				t.Fatal("test bug: parameters did not change")
			}
			werr = s.UpdateDetector(ctx, &x)
			params = x.Parameters
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	wantErr(t, "writer", werr, nil)
	for err := range errs {
		t.Fatalf("a reader saw a half-trained detector: %v", err)
	}
	if fittedSeen.Load() == 0 || unfittedSeen.Load() == 0 {
		t.Fatalf("readers saw %d fitted and %d unfitted states; the check needs both", fittedSeen.Load(), unfittedSeen.Load())
	}
	t.Logf("readers checked %d fitted and %d unfitted states", fittedSeen.Load(), unfittedSeen.Load())
}

func testListDetectors(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	algs := []string{"knn", "hbos", "knn", "ecod", "knn", "hbos"}
	for i, a := range algs {
		d := newDetector(fmt.Sprintf("d%d", i), a)
		d.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		create(t, s, d)
		if i%2 == 0 {
			if _, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(i, 10), Threshold: 1, NFeatures: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	yes, no := true, false
	for _, c := range []struct {
		f    store.DetectorFilter
		want []string
	}{
		{store.DetectorFilter{}, []string{"d5", "d4", "d3", "d2", "d1", "d0"}},
		{store.DetectorFilter{Algorithm: "knn"}, []string{"d4", "d2", "d0"}},
		{store.DetectorFilter{Algorithm: "hbos", Fitted: &yes}, nil},
		{store.DetectorFilter{Algorithm: "hbos", Fitted: &no}, []string{"d5", "d1"}},
		{store.DetectorFilter{Fitted: &yes}, []string{"d4", "d2", "d0"}},
		{store.DetectorFilter{Limit: 2}, []string{"d5", "d4"}},
		{store.DetectorFilter{Limit: 2, Offset: 2}, []string{"d3", "d2"}},
		{store.DetectorFilter{Algorithm: "none"}, nil},
	} {
		got, err := s.ListDetectors(ctx, c.f)
		wantErr(t, "ListDetectors", err, nil)
		var names []string
		for _, d := range got {
			names = append(names, d.Name)
			if d.Model != nil {
				t.Errorf("ListDetectors returned the model bytes of %s", d.Name)
			}
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("ListDetectors(%+v) = %v, want %v", c.f, names, c.want)
		}
	}
}
