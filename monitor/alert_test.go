package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// recorder is a Notifier that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Notify(_ context.Context, e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// took returns the events told since the last call, as "status key severity".
func (r *recorder) took() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, e := range r.events {
		out = append(out, e.Status+" "+e.Alert.Key+" "+e.Alert.Severity.String())
	}
	r.events = nil
	return out
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "alerts.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func cond(key string, firing bool, sev Severity) Condition {
	rule, _, _ := strings.Cut(key, "/")
	return Condition{Key: key, Rule: rule, Firing: firing, Severity: sev, Metric: rule, Title: key + " " + sev.String(),
		Description: "d", Value: 1, Threshold: 0.5, Actions: []string{"act"}, Labels: map[string]string{"k": "v"}}
}

func wantEvents(t *testing.T, when string, rec *recorder, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := rec.took(); !slices.Equal(got, want) {
		t.Fatalf("%s: events %q, want %q", when, got, want)
	}
}

// The monitor driven end to end by controlled operations: a Tracker times a predict that
// becomes slow, then slower, then fast again, then slow within the cooldown; the thresholds
// judge it every 10 s and the alert manager raises the right alert once, escalates it,
// resolves it, and raises nothing inside the cooldown.
func TestAlertsSlowOperation(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
	tr := NewTracker(TrackerOptions{Window: time.Minute, now: c.now})
	const predict = "predict"
	th := DefaultThresholds()
	th.Operations = map[string]OpThresholds{predict: {WarningExecutionTime: 100 * time.Millisecond, MaxExecutionTime: time.Second}}
	rec := &recorder{}
	st := openStore(t)
	a := NewAlerts(AlertOptions{Store: st, Notifiers: []Notifier{rec}, Now: c.now,
		Cooldown: 5 * time.Minute, RepeatInterval: time.Hour})
	// run records 20 operations of d every 10 s for span, judging after each batch.
	run := func(span, d time.Duration) {
		for end := c.now().Add(span); c.now().Before(end); c.add(10 * time.Second) {
			for range 20 {
				tr.Record(predict, d, 1, nil)
			}
			a.Evaluate(ctx, th.Check(c.now(), tr.Summaries(), Resources{})...)
		}
	}
	key := "latency/" + predict

	run(2*time.Minute, 20*time.Millisecond)
	wantEvents(t, "fast", rec)
	run(3*time.Minute, 300*time.Millisecond)
	wantEvents(t, "slow for 3 min", rec, "firing "+key+" high")
	act := a.Active()
	if len(act) != 1 || act[0].Key != key || act[0].Severity != SeverityHigh || act[0].Metric != "latency_p99_seconds" ||
		act[0].Threshold != 0.1 || !strings.Contains(act[0].Description, "300ms") || len(act[0].Actions) == 0 {
		t.Fatalf("active: %+v", act)
	}
	highID := act[0].ID

	run(2*time.Minute, 3*time.Second)
	wantEvents(t, "slower", rec, "firing "+key+" critical")
	act = a.Active()
	if len(act) != 1 || act[0].Severity != SeverityCritical || act[0].ID == highID {
		t.Fatalf("after the escalation: %+v", act)
	}
	run(3*time.Minute, 20*time.Millisecond)
	wantEvents(t, "fast again", rec, "resolved "+key+" critical")
	if act := a.Active(); len(act) != 0 {
		t.Fatalf("active after recovery: %+v", act)
	}
	resolvedAt := a.Recent(1)[0].ResolvedAt

	run(2*time.Minute, 300*time.Millisecond) // within the 5 min cooldown
	wantEvents(t, "slow within the cooldown", rec)
	if s := a.Stats(); s.Suppressed != 1 || s.Active != 0 {
		t.Fatalf("stats within the cooldown: %+v", s)
	}
	run(4*time.Minute, 300*time.Millisecond) // still slow when the cooldown ends
	wantEvents(t, "slow after the cooldown", rec, "firing "+key+" high")
	if act := a.Active(); len(act) != 1 || act[0].StartsAt.Sub(resolvedAt) < 5*time.Minute {
		t.Fatalf("raised again at %v, %v after it resolved", act, act[0].StartsAt.Sub(resolvedAt))
	}
	want := AlertStats{Active: 1, Raised: 3, Escalated: 1, Resolved: 1, Suppressed: 1}
	if s := a.Stats(); s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}

	// The store has them all: the high alert ended by its escalation, the critical one
	// resolved, the new high one active.
	stored, err := a.List(ctx, store.AlertFilter{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range stored {
		got = append(got, fmt.Sprintf("%s active=%v", s.Severity, s.Active()))
	}
	if !slices.Equal(got, []string{"high active=true", "critical active=false", "high active=false"}) || stored[2].ID != highID {
		t.Errorf("stored alerts of %s: %v", key, got)
	}
	crit, err := a.List(ctx, store.AlertFilter{Severity: "critical"})
	if err != nil || len(crit) != 1 || crit[0].Title == "" || crit[0].Description == "" || crit[0].Labels["operation"] != predict {
		t.Errorf("stored critical alerts: %+v, %v", crit, err)
	}
}

// Failing operations raise an error-rate alert once, which resolves when they stop failing.
func TestAlertsFailingOperation(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
	tr := NewTracker(TrackerOptions{Window: time.Minute, now: c.now})
	th := DefaultThresholds() // 5 % / 25 % over >= 20 operations
	rec := &recorder{}
	a := NewAlerts(AlertOptions{Notifiers: []Notifier{rec}, Now: c.now})
	boom := errors.New("boom")
	run := func(span time.Duration, failEvery int) {
		for end := c.now().Add(span); c.now().Before(end); c.add(10 * time.Second) {
			for i := range 20 {
				var err error
				if failEvery > 0 && i%failEvery == 0 {
					err = boom
				}
				tr.Record("train", time.Millisecond, 1, err)
			}
			a.Evaluate(ctx, th.Check(c.now(), tr.Summaries(), Resources{})...)
		}
	}
	run(time.Minute, 0)
	wantEvents(t, "no failures", rec)
	// Half fail: the window's error rate climbs past 5 % at once, past 25 % 30 s later.
	run(2*time.Minute, 2)
	wantEvents(t, "half failing", rec, "firing error_rate/train high", "firing error_rate/train critical")
	run(2*time.Minute, 0) // the rate falls back through 25 %: the alert stays critical until it resolves
	wantEvents(t, "no failures again", rec, "resolved error_rate/train critical")
}

// A memory-growing process: high past the warning, critical past the max, resolved when the
// memory comes back.
func TestAlertsMemoryGrowing(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
	th := DefaultThresholds() // 2048 / 4096 MB
	rec := &recorder{}
	a := NewAlerts(AlertOptions{Notifiers: []Notifier{rec}, Now: c.now})
	var events []string
	for _, mb := range []int64{500, 1000, 1800, 2100, 2500, 3000, 3900, 4200, 4500, 3000, 1500, 1000} {
		c.add(time.Second)
		a.Evaluate(ctx, th.Check(c.now(), nil, Resources{Time: c.now(), RSS: mb << 20, CPUPercent: 1, Heap: mb << 19})...)
		for _, e := range rec.took() {
			events = append(events, fmt.Sprint(mb, " ", e))
		}
	}
	// 3000 MB while critical: the alert stays critical; the memory falls below the warning
	// only at 1500 MB.
	want := []string{"2100 firing memory high", "4200 firing memory critical", "1500 resolved memory critical"}
	if !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}

// An active alert is sent again every RepeatInterval, never more often.
func TestAlertsRepeat(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	a := NewAlerts(AlertOptions{Notifiers: []Notifier{rec}, Now: c.now, RepeatInterval: time.Hour})
	start := c.now()
	var times []time.Duration
	var notes []int
	for c.now().Sub(start) <= 3*time.Hour+30*time.Minute {
		a.Evaluate(ctx, cond("cpu", true, SeverityHigh))
		rec.mu.Lock()
		for _, e := range rec.events {
			times = append(times, c.now().Sub(start))
			notes = append(notes, e.Alert.Notifications)
			if !e.Alert.LastNotified.Equal(c.now()) {
				t.Errorf("%s at %v: last notified %v", e.Status, c.now(), e.Alert.LastNotified)
			}
		}
		rec.events = nil
		rec.mu.Unlock()
		c.add(time.Minute)
	}
	if want := []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour}; !slices.Equal(times, want) {
		t.Errorf("told at %v, want %v", times, want)
	}
	if !slices.Equal(notes, []int{1, 2, 3, 4}) {
		t.Errorf("notifications %v", notes)
	}
	if s := a.Stats(); s.Raised != 1 || s.Repeated != 3 {
		t.Errorf("stats %+v", s)
	}
}

// A flapping metric (firing every other evaluation, every 30 s, for an hour) raises one
// alert per cooldown and counts the firings it held back.
func TestAlertsFlapping(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	a := NewAlerts(AlertOptions{Notifiers: []Notifier{rec}, Now: c.now, Cooldown: 5 * time.Minute})
	for i := range 120 {
		a.Evaluate(ctx, cond("cpu", i%2 == 0, SeverityHigh))
		c.add(30 * time.Second)
	}
	var firing int
	for _, e := range rec.took() {
		if strings.HasPrefix(e, "firing") {
			firing++
		}
	}
	// Raised at 0, 6, 12, ... 54 min: resolved 30 s later, then 5 firings held back.
	s := a.Stats()
	if firing != 10 || s.Raised != 10 || s.Resolved != 10 || s.Suppressed != 50 {
		t.Errorf("%d firing events, stats %+v; want 10 raised and resolved, 50 suppressed", firing, s)
	}
}

// A key no evaluation reports for ResolveTimeout resolves, as an operation that went idle
// (its summary leaves the tracker) does; a key still reported does not.
func TestAlertsResolveTimeout(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	a := NewAlerts(AlertOptions{Notifiers: []Notifier{rec}, Now: c.now, ResolveTimeout: 5 * time.Minute})
	a.Evaluate(ctx, cond("latency/idle", true, SeverityHigh), cond("cpu", true, SeverityHigh))
	wantEvents(t, "first", rec, "firing latency/idle high", "firing cpu high")
	for range 4 {
		c.add(time.Minute)
		a.Evaluate(ctx, cond("cpu", true, SeverityHigh))
	}
	wantEvents(t, "4 min", rec)
	c.add(time.Minute)
	a.Evaluate(ctx) // an evaluation without conditions sweeps too
	wantEvents(t, "5 min", rec, "resolved latency/idle high")
	if act := a.Active(); len(act) != 1 || act[0].Key != "cpu" {
		t.Errorf("active %+v", act)
	}
}

// The in-memory history: Active most severe first, Recent newest first and bounded by
// History, List filtered by severity, key and time.
func TestAlertsMemoryHistory(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
	a := NewAlerts(AlertOptions{Now: c.now, History: 3})
	t0 := c.now()
	for i := range 5 {
		a.Evaluate(ctx, cond(fmt.Sprint("old/", i), true, SeverityMedium))
		c.add(time.Minute)
		a.Evaluate(ctx, cond(fmt.Sprint("old/", i), false, SeverityInfo))
	}
	a.Evaluate(ctx, cond("b", true, SeverityHigh), cond("a", true, SeverityCritical), cond("c", true, SeverityHigh))
	keys := func(as []Alert) []string {
		var k []string
		for _, al := range as {
			k = append(k, al.Key)
		}
		return k
	}
	if got := keys(a.Active()); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Active: %v", got)
	}
	if got := keys(a.Recent(0)); !slices.Equal(got, []string{"old/4", "old/3", "old/2"}) {
		t.Errorf("Recent(0): %v", got)
	}
	if got := keys(a.Recent(1)); !slices.Equal(got, []string{"old/4"}) {
		t.Errorf("Recent(1): %v", got)
	}
	for _, c := range []struct {
		f    store.AlertFilter
		want []string
	}{
		{store.AlertFilter{Severity: "high"}, []string{"c", "b"}},
		{store.AlertFilter{Severity: "medium", Since: t0.Add(3 * time.Minute)}, []string{"old/4", "old/3"}},
		{store.AlertFilter{Until: t0.Add(3 * time.Minute)}, []string{"old/2"}},
		{store.AlertFilter{ActiveOnly: true, Limit: 2}, []string{"c", "a"}}, // raised together: by id, as the store
		{store.AlertFilter{Key: "old/3"}, []string{"old/3"}},
		{store.AlertFilter{Rule: "old", Offset: 1}, []string{"old/3", "old/2"}},
	} {
		got, err := a.List(ctx, c.f)
		if err != nil || !slices.Equal(keys(got), c.want) {
			t.Errorf("List(%+v) = %v, %v; want %v", c.f, keys(got), err, c.want)
		}
	}
}

// failingStore fails while fail is set and records the calls that succeed.
type failingStore struct {
	mu    sync.Mutex
	fail  bool
	calls []string
	store.Alerts
}

func (s *failingStore) CreateAlert(ctx context.Context, a *store.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("database down")
	}
	s.calls = append(s.calls, fmt.Sprintf("create %s resolved=%v", a.Key, !a.Active()))
	return s.Alerts.CreateAlert(ctx, a)
}

func (s *failingStore) ResolveAlert(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("database down")
	}
	s.calls = append(s.calls, "resolve")
	return s.Alerts.ResolveAlert(ctx, id, at)
}

// A failing store is counted and logged, never returned, and loses nothing in memory; an
// alert whose creation failed is stored whole when it resolves.
func TestAlertsStoreFailures(t *testing.T) {
	ctx := context.Background()
	fs := &failingStore{fail: true, Alerts: openStore(t)}
	rec := &recorder{}
	var logged strings.Builder
	a := NewAlerts(AlertOptions{Store: fs, Notifiers: []Notifier{rec}, Logger: newTestLogger(&logged)})
	a.Evaluate(ctx, cond("memory", true, SeverityHigh))
	wantEvents(t, "firing with the store down", rec, "firing memory high")
	if s := a.Stats(); s.StoreFailures != 1 || s.Active != 1 || len(a.Active()) != 1 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := a.List(ctx, store.AlertFilter{}); err != nil {
		t.Fatalf("List: %v", err) // the listing goes to the store itself, which has nothing
	}
	if !strings.Contains(logged.String(), "database down") {
		t.Errorf("log %q does not name the store's error", logged.String())
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	a.Evaluate(ctx, cond("memory", false, SeverityInfo))
	wantEvents(t, "resolved with the store back", rec, "resolved memory high")
	fs.mu.Lock()
	calls := slices.Clone(fs.calls)
	fs.mu.Unlock()
	if !slices.Equal(calls, []string{"create memory resolved=true"}) {
		t.Errorf("store calls %v", calls)
	}
	got, err := a.List(ctx, store.AlertFilter{Key: "memory"})
	if err != nil || len(got) != 1 || got[0].Active() || got[0].Title != "memory high" {
		t.Errorf("stored: %+v, %v", got, err)
	}
}

// blockingStore holds every call until release is closed.
type blockingStore struct {
	failingStore
	entered chan string
	release chan struct{}
}

func (s *blockingStore) CreateAlert(ctx context.Context, a *store.Alert) error {
	s.entered <- "create"
	<-s.release
	return s.failingStore.CreateAlert(ctx, a)
}

func (s *blockingStore) ResolveAlert(ctx context.Context, id string, at time.Time) error {
	s.entered <- "resolve"
	<-s.release
	return s.failingStore.ResolveAlert(ctx, id, at)
}

// A slow store holds no lock: Active and Stats answer while it writes, and the writes of
// later evaluations wait for those of earlier ones, in order.
func TestAlertsSlowStore(t *testing.T) {
	ctx := context.Background()
	bs := &blockingStore{failingStore: failingStore{Alerts: openStore(t)}, entered: make(chan string, 4), release: make(chan struct{})}
	a := NewAlerts(AlertOptions{Store: bs, StoreTimeout: time.Minute})
	var wg sync.WaitGroup
	wg.Go(func() { a.Evaluate(ctx, cond("cpu", true, SeverityHigh)) })
	if got := <-bs.entered; got != "create" {
		t.Fatalf("first store call %q", got)
	}
	start := time.Now()
	if act := a.Active(); len(act) != 1 {
		t.Fatalf("active while the store writes: %+v", act)
	}
	wg.Go(func() { a.Evaluate(ctx, cond("cpu", false, SeverityInfo)) })
	waitUntil(t, "the resolution in memory", func() bool { return len(a.Active()) == 0 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("Active took %v while the store was busy", d)
	}
	select {
	case got := <-bs.entered:
		t.Fatalf("store call %q before the first returned", got)
	default:
	}
	close(bs.release)
	wg.Wait()
	if got := <-bs.entered; got != "resolve" {
		t.Fatalf("second store call %q", got)
	}
	if !slices.Equal(bs.calls, []string{"create cpu resolved=false", "resolve"}) {
		t.Errorf("store calls %v", bs.calls)
	}
}

// Evaluations from many goroutines: each key's events alternate firing and resolved, in
// the order the store saw them, and at most one alert of a key is ever active.
func TestAlertsConcurrent(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	st := openStore(t)
	a := NewAlerts(AlertOptions{Store: st, Notifiers: []Notifier{rec}, Cooldown: -1})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprint("k/", (g+i)%4)
				a.Evaluate(ctx, cond(key, (g*i)%3 != 0, Severity(2+i%3)))
				_ = a.Active()
			}
		})
	}
	wg.Wait()
	state, sev := map[string]string{}, map[string]Severity{}
	for _, e := range rec.events {
		k := e.Alert.Key
		switch e.Status {
		case EventFiring:
			if state[k] == "firing" && e.Alert.Severity <= sev[k] {
				t.Fatalf("%s fired at %s while active at %s", k, e.Alert.Severity, sev[k])
			}
			state[k], sev[k] = "firing", e.Alert.Severity
		case EventResolved:
			if state[k] != "firing" {
				t.Fatalf("%s resolved while not firing", k)
			}
			state[k] = "resolved"
		}
	}
	for _, k := range []string{"k/0", "k/1", "k/2", "k/3"} {
		active, err := st.ListAlerts(ctx, store.AlertFilter{Key: k, ActiveOnly: true})
		if err != nil || len(active) > 1 || (len(active) == 1) != (state[k] == "firing") {
			t.Errorf("%s: %d active in the store (%v), last event %q", k, len(active), err, state[k])
		}
	}
	if s := a.Stats(); s.StoreFailures != 0 {
		t.Errorf("stats %+v", s)
	}
}

// Restore takes over the store's active alerts after a restart: a key still firing raises
// nothing new, one no longer reported resolves after ResolveTimeout.
func TestAlertsRestore(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
	st := openStore(t)
	first := NewAlerts(AlertOptions{Store: st, Now: c.now})
	first.Evaluate(ctx, cond("cpu", true, SeverityHigh), cond("memory", true, SeverityCritical))

	rec := &recorder{}
	c.add(time.Minute)
	second := NewAlerts(AlertOptions{Store: st, Notifiers: []Notifier{rec}, Now: c.now, ResolveTimeout: 5 * time.Minute})
	if err := second.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if act := second.Active(); len(act) != 2 || act[0].Key != "memory" || act[0].Title != "memory critical" {
		t.Fatalf("restored %+v", act)
	}
	for range 6 {
		second.Evaluate(ctx, cond("cpu", true, SeverityHigh))
		c.add(time.Minute)
	}
	wantEvents(t, "after the restart", rec, "resolved memory critical")
	stored, _ := st.ListAlerts(ctx, store.AlertFilter{})
	if len(stored) != 2 || stored[0].Active() == stored[1].Active() {
		t.Errorf("stored %+v", stored)
	}
}

// BenchmarkAlertsEvaluate: the steady state, 60 conditions of which 10 fire and stay
// active, as a service with 20 operations evaluated every few seconds gives.
func BenchmarkAlertsEvaluate(b *testing.B) {
	ctx := context.Background()
	a := NewAlerts(AlertOptions{Notifiers: []Notifier{&recorder{}}})
	conds := make([]Condition, 60)
	for i := range conds {
		conds[i] = cond(fmt.Sprint("latency/op", i), i%6 == 0, SeverityHigh)
	}
	a.Evaluate(ctx, conds...)
	b.ReportAllocs()
	for b.Loop() {
		a.Evaluate(ctx, conds...)
	}
}
