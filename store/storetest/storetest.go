package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
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

func testDatasets(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	in := []*store.Dataset{
		{Name: "small.csv", NSamples: 100, NFeatures: 3, FileFormat: "csv", Data: []byte("a,b,c\n1,2,3\n"), CreatedAt: t0},
		{Name: "big.parquet", NSamples: 1_000_000, NFeatures: 20, FileFormat: "parquet", Path: "/data/big.parquet", CreatedAt: t0.Add(time.Hour)},
		{Name: "mid.csv", NSamples: 5000, NFeatures: 8, FileFormat: "csv", Path: "/data/mid.csv", Data: []byte("x\n1\n"), CreatedAt: t0.Add(2 * time.Hour)},
	}
	for _, d := range in {
		wantErr(t, "CreateDataset", s.CreateDataset(ctx, d), nil)
		if d.ID == "" {
			t.Fatal("CreateDataset assigned no id")
		}
	}
	got, err := s.GetDataset(ctx, in[0].ID)
	wantErr(t, "GetDataset", err, nil)
	if df := diff(got, in[0]); df != "" {
		t.Fatalf("GetDataset: %s", df)
	}
	got, _ = s.GetDataset(ctx, in[1].ID)
	if got.Data != nil || got.Path != "/data/big.parquet" {
		t.Fatalf("GetDataset(path only) = data %q, path %q", got.Data, got.Path)
	}
	for _, c := range []struct {
		f    store.DatasetFilter
		want []string
	}{
		{store.DatasetFilter{}, []string{"mid.csv", "big.parquet", "small.csv"}},
		{store.DatasetFilter{FileFormat: "csv"}, []string{"mid.csv", "small.csv"}},
		{store.DatasetFilter{MinSamples: 5000}, []string{"mid.csv", "big.parquet"}},
		{store.DatasetFilter{FileFormat: "csv", MinSamples: 101}, []string{"mid.csv"}},
		{store.DatasetFilter{Limit: 1, Offset: 1}, []string{"big.parquet"}},
	} {
		list, err := s.ListDatasets(ctx, c.f)
		wantErr(t, "ListDatasets", err, nil)
		var names []string
		for _, d := range list {
			names = append(names, d.Name)
			if d.Data != nil {
				t.Errorf("ListDatasets returned the data of %s", d.Name)
			}
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("ListDatasets(%+v) = %v, want %v", c.f, names, c.want)
		}
	}
	for _, bad := range []*store.Dataset{
		{Name: "", FileFormat: "csv", Path: "x"},
		{Name: "n", FileFormat: "", Path: "x"},
		{Name: "n", FileFormat: "csv"},
		{Name: "n", FileFormat: "csv", Path: "x", NSamples: -1},
	} {
		wantErr(t, fmt.Sprintf("CreateDataset(%+v)", bad), s.CreateDataset(ctx, bad), store.ErrInvalid)
	}
	dup := *in[0]
	wantErr(t, "CreateDataset(taken id)", s.CreateDataset(ctx, &dup), store.ErrConflict)
	wantErr(t, "DeleteDataset", s.DeleteDataset(ctx, in[0].ID), nil)
	_, err = s.GetDataset(ctx, in[0].ID)
	wantErr(t, "GetDataset after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteDataset(missing)", s.DeleteDataset(ctx, in[0].ID), store.ErrNotFound)
}

func testResults(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	a := create(t, s, newDetector("a", "knn"))
	b := create(t, s, newDetector("b", "knn"))
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

	one := &store.Result{DetectorID: a.ID, NSamples: 3, Scores: []float64{0.1, 0.9, -1.5e-300}, Anomalies: 1, Threshold: 0.5, CreatedAt: t0}
	wantErr(t, "CreateResults(one)", s.CreateResults(ctx, one), nil)
	got, err := s.GetResult(ctx, one.ID)
	wantErr(t, "GetResult", err, nil)
	if df := diff(got, one); df != "" {
		t.Fatalf("GetResult: %s", df)
	}
	var batch []*store.Result
	for i := range 10 {
		det := a.ID
		if i%2 == 1 {
			det = b.ID
		}
		batch = append(batch, &store.Result{DetectorID: det, NSamples: 1000 * i, Anomalies: i, Threshold: float64(i), CreatedAt: t0.Add(time.Duration(i+1) * time.Second)})
	}
	wantErr(t, "CreateResults(batch)", s.CreateResults(ctx, batch...), nil)
	got, _ = s.GetResult(ctx, batch[3].ID)
	if got.Scores != nil || got.NSamples != 3000 {
		t.Fatalf("a summary-only result came back with %d scores, %d samples", len(got.Scores), got.NSamples)
	}

	// All or none: one unknown detector fails the batch, and names it.
	bad := []*store.Result{
		{DetectorID: a.ID, NSamples: 1, Scores: []float64{1}},
		{DetectorID: "no-such-detector", NSamples: 1, Scores: []float64{1}},
	}
	err = s.CreateResults(ctx, bad...)
	wantErr(t, "CreateResults(unknown detector)", err, store.ErrNotFound)
	if err != nil && !bytes.Contains([]byte(err.Error()), []byte("no-such-detector")) {
		t.Errorf("error %q does not name the detector", err)
	}
	if all, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: a.ID}); len(all) != 6 {
		t.Fatalf("a failed batch left results behind: %d results of detector a, want 6", len(all))
	}
	for _, r := range []*store.Result{
		{NSamples: 1},
		{DetectorID: a.ID, NSamples: 2, Scores: []float64{1}},
		{DetectorID: a.ID, NSamples: 2, Anomalies: 3},
	} {
		wantErr(t, fmt.Sprintf("CreateResults(%+v)", r), s.CreateResults(ctx, r), store.ErrInvalid)
	}
	dup := *one
	wantErr(t, "CreateResults(taken id)", s.CreateResults(ctx, &dup), store.ErrConflict)
	_, err = s.GetResult(ctx, "no-such-id")
	wantErr(t, "GetResult(missing)", err, store.ErrNotFound)

	anomalies := func(rs []*store.Result) []int {
		var n []int
		for _, r := range rs {
			n = append(n, r.Anomalies)
		}
		return n
	}
	for _, c := range []struct {
		f    store.ResultFilter
		want []int
	}{
		{store.ResultFilter{DetectorID: a.ID}, []int{8, 6, 4, 2, 0, 1}},
		{store.ResultFilter{DetectorID: b.ID, Limit: 2}, []int{9, 7}},
		{store.ResultFilter{Since: t0.Add(8 * time.Second)}, []int{9, 8, 7}},
		{store.ResultFilter{Since: t0.Add(2 * time.Second), Until: t0.Add(4 * time.Second)}, []int{2, 1}},
		{store.ResultFilter{DetectorID: a.ID, Until: t0.Add(time.Second)}, []int{1}},
		{store.ResultFilter{Limit: 3, Offset: 9}, []int{0, 1}},
	} {
		got, err := s.ListResults(ctx, c.f)
		wantErr(t, "ListResults", err, nil)
		if !slices.Equal(anomalies(got), c.want) {
			t.Errorf("ListResults(%+v) anomalies = %v, want %v", c.f, anomalies(got), c.want)
		}
	}

	// Deleting a detector deletes its results.
	wantErr(t, "DeleteDetector", s.DeleteDetector(ctx, b.ID), nil)
	if rs, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: b.ID}); len(rs) != 0 {
		t.Fatalf("%d results of a deleted detector remain", len(rs))
	}
	_, err = s.GetResult(ctx, batch[1].ID)
	wantErr(t, "GetResult of a deleted detector's result", err, store.ErrNotFound)
}

func testBenchmarkRuns(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	// Stored byte for byte: key order and white space survive.
	doc := json.RawMessage("{\"version\": 1,\n  \"zeta\": [1, 2.50, 3e2], \"alpha\": {\"b\": null}}")
	runs := []*store.BenchmarkRun{
		{SuiteID: "s1", Kind: store.KindBenchmark, Name: "quick", CreatedAt: t0, Document: doc},
		{SuiteID: "s1", Kind: store.KindScalability, Name: "iforest", CreatedAt: t0.Add(time.Hour), Document: json.RawMessage(`{"version":1}`)},
		{SuiteID: "s2", Kind: store.KindBenchmark, Name: "standard", CreatedAt: t0.Add(2 * time.Hour), Document: json.RawMessage(`[]`)},
		{Kind: store.KindMemory, CreatedAt: t0.Add(3 * time.Hour), Document: json.RawMessage(`{"version":1,"peak":1}`)},
	}
	for _, r := range runs {
		wantErr(t, "CreateBenchmarkRun", s.CreateBenchmarkRun(ctx, r), nil)
	}
	got, err := s.GetBenchmarkRun(ctx, runs[0].ID)
	wantErr(t, "GetBenchmarkRun", err, nil)
	if df := diff(got, runs[0]); df != "" {
		t.Fatalf("GetBenchmarkRun: %s", df)
	}
	names := func(rs []*store.BenchmarkRun) []string {
		var n []string
		for _, r := range rs {
			n = append(n, r.Kind+"/"+r.Name)
		}
		return n
	}
	for _, c := range []struct {
		f    store.BenchmarkFilter
		want []string
	}{
		{store.BenchmarkFilter{}, []string{"memory/", "benchmark/standard", "scalability/iforest", "benchmark/quick"}},
		{store.BenchmarkFilter{SuiteID: "s1"}, []string{"scalability/iforest", "benchmark/quick"}},
		{store.BenchmarkFilter{Kind: store.KindBenchmark}, []string{"benchmark/standard", "benchmark/quick"}},
		{store.BenchmarkFilter{SuiteID: "s1", Kind: store.KindBenchmark}, []string{"benchmark/quick"}},
		{store.BenchmarkFilter{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, []string{"benchmark/standard", "scalability/iforest"}},
		{store.BenchmarkFilter{Limit: 1}, []string{"memory/"}},
	} {
		got, err := s.ListBenchmarkRuns(ctx, c.f)
		wantErr(t, "ListBenchmarkRuns", err, nil)
		if !slices.Equal(names(got), c.want) {
			t.Errorf("ListBenchmarkRuns(%+v) = %v, want %v", c.f, names(got), c.want)
		}
	}
	list, _ := s.ListBenchmarkRuns(ctx, store.BenchmarkFilter{SuiteID: "s1", Kind: store.KindBenchmark})
	if len(list) != 1 || !bytes.Equal(list[0].Document, doc) {
		t.Fatalf("the listed document is not the stored bytes: %s", list[0].Document)
	}
	for _, bad := range []*store.BenchmarkRun{
		{Kind: "", Document: json.RawMessage(`{}`)},
		{Kind: store.KindCompare, Document: json.RawMessage(`{"a":`)},
		{Kind: store.KindCompare},
	} {
		wantErr(t, "CreateBenchmarkRun(invalid)", s.CreateBenchmarkRun(ctx, bad), store.ErrInvalid)
	}
	wantErr(t, "DeleteBenchmarkRun", s.DeleteBenchmarkRun(ctx, runs[0].ID), nil)
	_, err = s.GetBenchmarkRun(ctx, runs[0].ID)
	wantErr(t, "GetBenchmarkRun after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteBenchmarkRun(missing)", s.DeleteBenchmarkRun(ctx, runs[0].ID), store.ErrNotFound)
}

func testMetrics(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	var in []store.Sample
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Second)
		in = append(in,
			store.Sample{Time: at, Name: "cpu_percent", Value: float64(i)},
			store.Sample{Time: at, Name: "latency_ms", Value: float64(100 + i), Labels: map[string]string{"route": "/predict", "method": "POST"}},
			store.Sample{Time: at.Add(time.Millisecond), Name: "latency_ms", Value: float64(200 + i), Labels: map[string]string{"route": "/train"}},
		)
	}
	wantErr(t, "AddSamples", s.AddSamples(ctx, in...), nil)

	values := func(ss []store.Sample) []float64 {
		var v []float64
		for _, x := range ss {
			v = append(v, x.Value)
		}
		return v
	}
	for _, c := range []struct {
		q    store.SampleQuery
		want []float64
	}{
		{store.SampleQuery{Name: "cpu_percent", From: t0.Add(3 * time.Second), To: t0.Add(6 * time.Second)}, []float64{3, 4, 5}},
		{store.SampleQuery{Name: "cpu_percent", From: t0.Add(8 * time.Second)}, []float64{8, 9}},
		{store.SampleQuery{Name: "cpu_percent", To: t0.Add(time.Second)}, []float64{0}},
		{store.SampleQuery{Name: "cpu_percent", Limit: 2}, []float64{0, 1}},
		{store.SampleQuery{Name: "latency_ms", From: t0, To: t0.Add(2 * time.Second)}, []float64{100, 200, 101, 201}},
		{store.SampleQuery{Name: "latency_ms", To: t0.Add(2 * time.Second), Labels: map[string]string{"method": "POST", "route": "/predict"}}, []float64{100, 101}},
		{store.SampleQuery{Name: "latency_ms", To: t0.Add(2 * time.Second), Labels: map[string]string{"route": "/predict"}}, nil},
		{store.SampleQuery{Name: "cpu_percent", Labels: map[string]string{}, To: t0.Add(time.Second)}, []float64{0}},
		{store.SampleQuery{Name: "no_such_metric"}, nil},
	} {
		got, err := s.QuerySamples(ctx, c.q)
		wantErr(t, "QuerySamples", err, nil)
		if !slices.Equal(values(got), c.want) {
			t.Errorf("QuerySamples(%+v) = %v, want %v", c.q, values(got), c.want)
		}
	}
	got, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "latency_ms", Limit: 1})
	want := store.Sample{Time: t0, Name: "latency_ms", Value: 100, Labels: map[string]string{"route": "/predict", "method": "POST"}}
	if len(got) != 1 || diff(got[0], want) != "" {
		t.Fatalf("QuerySamples returned %+v, want %+v", got, want)
	}
	if got, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "cpu_percent", Limit: 1}); got[0].Labels != nil {
		t.Fatalf("a sample without labels came back with %v", got[0].Labels)
	}
	_, err := s.QuerySamples(ctx, store.SampleQuery{})
	wantErr(t, "QuerySamples(no name)", err, store.ErrInvalid)
	wantErr(t, "AddSamples(no name)", s.AddSamples(ctx, store.Sample{Time: t0}), store.ErrInvalid)
	wantErr(t, "AddSamples(no time)", s.AddSamples(ctx, store.Sample{Name: "x"}), store.ErrInvalid)

	n, err := s.DeleteSamplesBefore(ctx, t0.Add(5*time.Second))
	wantErr(t, "DeleteSamplesBefore", err, nil)
	if n != 15 {
		t.Fatalf("DeleteSamplesBefore deleted %d samples, want 15", n)
	}
	if got, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "cpu_percent"}); !slices.Equal(values(got), []float64{5, 6, 7, 8, 9}) {
		t.Fatalf("after DeleteSamplesBefore: %v", values(got))
	}
}

func testAlerts(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	in := []*store.Alert{
		{CreatedAt: t0, Severity: "high", Metric: "cpu_percent", Message: "CPU above 90 %", Value: 97.5, Threshold: 90},
		{CreatedAt: t0.Add(time.Minute), Severity: "medium", Metric: "memory_mb", Message: "memory high", Value: 3000, Threshold: 2048},
		{CreatedAt: t0.Add(2 * time.Minute), Severity: "high", Metric: "latency_p99_ms", Value: 12, Threshold: 10},
		{CreatedAt: t0.Add(3 * time.Minute), Severity: "low", Metric: "cpu_percent", Value: 71, Threshold: 70, ResolvedAt: t0.Add(4 * time.Minute)},
	}
	for _, a := range in {
		wantErr(t, "CreateAlert", s.CreateAlert(ctx, a), nil)
	}
	got, err := s.GetAlert(ctx, in[0].ID)
	wantErr(t, "GetAlert", err, nil)
	if df := diff(got, in[0]); df != "" || !got.Active() {
		t.Fatalf("GetAlert: %s (active %v)", df, got.Active())
	}
	wantErr(t, "ResolveAlert", s.ResolveAlert(ctx, in[0].ID, t0.Add(5*time.Minute)), nil)
	got, _ = s.GetAlert(ctx, in[0].ID)
	if got.Active() || !got.ResolvedAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after ResolveAlert: resolved at %v", got.ResolvedAt)
	}
	wantErr(t, "ResolveAlert twice", s.ResolveAlert(ctx, in[0].ID, time.Time{}), store.ErrConflict)
	wantErr(t, "ResolveAlert(missing)", s.ResolveAlert(ctx, "no-such-id", time.Time{}), store.ErrNotFound)
	_, err = s.GetAlert(ctx, "no-such-id")
	wantErr(t, "GetAlert(missing)", err, store.ErrNotFound)

	metrics := func(as []*store.Alert) []string {
		var m []string
		for _, a := range as {
			m = append(m, a.Severity+":"+a.Metric)
		}
		return m
	}
	for _, c := range []struct {
		f    store.AlertFilter
		want []string
	}{
		{store.AlertFilter{}, []string{"low:cpu_percent", "high:latency_p99_ms", "medium:memory_mb", "high:cpu_percent"}},
		{store.AlertFilter{ActiveOnly: true}, []string{"high:latency_p99_ms", "medium:memory_mb"}},
		{store.AlertFilter{ActiveOnly: true, Severity: "high"}, []string{"high:latency_p99_ms"}},
		{store.AlertFilter{Metric: "cpu_percent"}, []string{"low:cpu_percent", "high:cpu_percent"}},
		{store.AlertFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"high:latency_p99_ms", "medium:memory_mb"}},
		{store.AlertFilter{Limit: 1, Offset: 3}, []string{"high:cpu_percent"}},
	} {
		got, err := s.ListAlerts(ctx, c.f)
		wantErr(t, "ListAlerts", err, nil)
		if !slices.Equal(metrics(got), c.want) {
			t.Errorf("ListAlerts(%+v) = %v, want %v", c.f, metrics(got), c.want)
		}
	}
	wantErr(t, "CreateAlert(no severity)", s.CreateAlert(ctx, &store.Alert{Metric: "x"}), store.ErrInvalid)
	wantErr(t, "CreateAlert(no metric)", s.CreateAlert(ctx, &store.Alert{Severity: "low"}), store.ErrInvalid)
}

// testTimes: times come back in UTC, rounded down to the microsecond, on every back end.
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
