package monitor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
)

// printer is a Notifier that prints each event.
type printer struct{}

func (printer) Notify(_ context.Context, e monitor.Event) {
	fmt.Printf("%s %s [%s] %s\n", e.Status, e.Alert.Key, e.Alert.Severity, e.Alert.Title)
}

// Thresholds judge a predict every minute and the alert manager turns what they find into
// alerts: raised once, grouped while it lasts, escalated past the max, resolved when the
// p99 recovers, and not raised again inside the cooldown.
func ExampleAlerts() {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	th := monitor.DefaultThresholds()
	th.Operations = map[string]monitor.OpThresholds{
		"predict": {WarningExecutionTime: 250 * time.Millisecond, MaxExecutionTime: time.Second},
	}
	alerts := monitor.NewAlerts(monitor.AlertOptions{
		Notifiers: []monitor.Notifier{printer{}},
		Cooldown:  5 * time.Minute,
		Now:       func() time.Time { return now },
	})
	evaluate := func(p99 time.Duration) {
		// What a Tracker's Summaries would give over its last minute.
		ops := []monitor.OpSummary{{Name: "predict", Count: 600, PerSecond: 10, Mean: p99 / 3, P99: p99, Max: p99, Window: time.Minute}}
		alerts.Evaluate(context.Background(), th.Check(now, ops, monitor.Resources{})...)
		now = now.Add(time.Minute)
	}
	evaluate(100 * time.Millisecond)  // within the limits
	evaluate(400 * time.Millisecond)  // past the warning: raised
	evaluate(450 * time.Millisecond)  // still past it: the same alert, not sent again
	evaluate(1500 * time.Millisecond) // past the max: escalated
	for _, a := range alerts.Active() {
		fmt.Println("active:", a.Description)
	}
	evaluate(80 * time.Millisecond)  // recovered: resolved
	evaluate(400 * time.Millisecond) // within the cooldown: held back
	s := alerts.Stats()
	fmt.Printf("raised %d, escalated %d, resolved %d, suppressed %d, active %d\n", s.Raised, s.Escalated, s.Resolved, s.Suppressed, s.Active)
	// Output:
	// firing latency/predict [high] predict is slow: p99 400ms over 250ms
	// firing latency/predict [critical] predict is slow: p99 1.5s over 1s
	// active: The p99 of predict over the last 1m0s is 1.5s, above the max limit of 1s (warning 250ms, max 1s); 600 operations, mean 500ms, max 1.5s.
	// resolved latency/predict [critical] predict is slow: p99 1.5s over 1s
	// raised 2, escalated 1, resolved 1, suppressed 1, active 0
}
