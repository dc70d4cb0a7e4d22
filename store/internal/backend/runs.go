package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// ---- benchmark runs

const runCols = "id, suite_id, kind, name, created_at, document"

func (r *Records) scanRun(row Row) (*store.BenchmarkRun, error) {
	var (
		run store.BenchmarkRun
		doc []byte
	)
	if err := row.Scan(&run.ID, &run.SuiteID, &run.Kind, &run.Name, r.d.ScanTime(&run.CreatedAt), &doc); err != nil {
		return nil, err
	}
	run.Document = doc
	return &run, nil
}

// CreateBenchmarkRun implements store.BenchmarkRuns.
func (r *Records) CreateBenchmarkRun(ctx context.Context, run *store.BenchmarkRun) error {
	if err := CheckBenchmarkRun(run); err != nil {
		return err
	}
	id, created := orNewID(run.ID), OrNow(run.CreatedAt)
	if err := r.insert(ctx, "benchmark run", id, r.q.createRun,
		id, run.SuiteID, run.Kind, run.Name, r.d.TimeArg(created), string(run.Document)); err != nil {
		return err
	}
	run.ID, run.CreatedAt = id, created
	return nil
}

// GetBenchmarkRun implements store.BenchmarkRuns.
func (r *Records) GetBenchmarkRun(ctx context.Context, id string) (*store.BenchmarkRun, error) {
	return getRecord(ctx, r, "benchmark run", id, "SELECT "+runCols+" FROM benchmark_runs WHERE id = $1", r.scanRun)
}

// ListBenchmarkRuns implements store.BenchmarkRuns.
func (r *Records) ListBenchmarkRuns(ctx context.Context, f store.BenchmarkFilter) ([]*store.BenchmarkRun, error) {
	if err := checkFilter("benchmark runs",
		textField{name: "suite id", value: f.SuiteID}, textField{name: "kind", value: f.Kind}); err != nil {
		return nil, err
	}
	var q Query
	if f.SuiteID != "" {
		q.Where("suite_id = ?", f.SuiteID)
	}
	if f.Kind != "" {
		q.Where("kind = ?", f.Kind)
	}
	r.timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + runCols + " FROM benchmark_runs" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "benchmark runs", query, q.Args, r.scanRun)
}

// DeleteBenchmarkRun implements store.BenchmarkRuns.
func (r *Records) DeleteBenchmarkRun(ctx context.Context, id string) error {
	return r.deleteByID(ctx, "benchmark run", "DELETE FROM benchmark_runs WHERE id = $1", id)
}

// ---- metric samples

// InsertSample inserts one metric sample: time, name, value, labels.
const InsertSample = "INSERT INTO metric_samples (time, name, value, labels) VALUES ($1, $2, $3, $4)"

// AddSamples implements store.Metrics: the DB's SampleInserter when it has one, else one
// prepared INSERT per sample in a transaction.
func (r *Records) AddSamples(ctx context.Context, samples ...store.Sample) error {
	for i := range samples {
		if err := CheckSample(&samples[i]); err != nil {
			return err
		}
	}
	if len(samples) == 0 {
		return nil
	}
	var err error
	if r.si != nil {
		err = r.si.InsertSamples(ctx, samples)
	} else {
		err = r.db.Tx(ctx, func(c Conn) error {
			for _, m := range samples {
				if _, err := c.Exec(ctx, InsertSample, r.time(m.Time), m.Name, m.Value, EncodeLabels(m.Labels)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return r.fail(fmt.Sprintf("add %d metric samples", len(samples)), err)
	}
	return nil
}

// QuerySamples implements store.Metrics.
func (r *Records) QuerySamples(ctx context.Context, sq store.SampleQuery) ([]store.Sample, error) {
	if sq.Name == "" {
		return nil, fmt.Errorf("store: query metric samples: name is empty: %w", store.ErrInvalid)
	}
	if err := checkFilter("metric samples", textField{name: "name", value: sq.Name}); err != nil {
		return nil, err
	}
	if err := checkLabels("query metric samples", sq.Labels, 0); err != nil {
		return nil, err
	}
	var q Query
	q.Where("name = ?", sq.Name)
	r.timeRange(&q, "time", sq.From, sq.To)
	if sq.Labels != nil {
		q.Where("labels = ?", EncodeLabels(sq.Labels))
	}
	query := "SELECT time, name, value, labels FROM metric_samples" + q.Clause() + " ORDER BY time, labels" + q.Page(sq.Limit, 0)
	out, err := list(ctx, r, "metric samples", query, q.Args, func(row Row) (store.Sample, error) {
		var (
			m      store.Sample
			labels string
		)
		if err := row.Scan(r.d.ScanTime(&m.Time), &m.Name, &m.Value, &labels); err != nil {
			return m, err
		}
		var err error
		m.Labels, err = DecodeLabels(labels)
		return m, err
	})
	if err == nil && out == nil {
		out = []store.Sample{}
	}
	return out, err
}

// DeleteSamplesBefore implements store.Metrics.
func (r *Records) DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := r.exec(ctx, "DELETE FROM metric_samples WHERE time < $1", r.time(t))
	if err != nil {
		return 0, r.fail(fmt.Sprintf("delete metric samples before %v", t), err)
	}
	return n, nil
}

// ---- alerts

const alertCols = "id, group_key, rule, created_at, severity, metric, title, message, value, threshold, actions, labels, resolved_at"

func (r *Records) scanAlert(row Row) (*store.Alert, error) {
	var (
		a               store.Alert
		actions, labels string
	)
	err := row.Scan(&a.ID, &a.Key, &a.Rule, r.d.ScanTime(&a.CreatedAt), &a.Severity, &a.Metric, &a.Title, &a.Message,
		&a.Value, &a.Threshold, &actions, &labels, r.d.ScanTime(&a.ResolvedAt))
	if err != nil {
		return nil, err
	}
	if a.Actions, err = decodeActions(actions); err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	if a.Labels, err = DecodeLabels(labels); err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	return &a, nil
}

// encodeActions is the stored text of an alert's actions: a JSON array, "[]" for none.
func encodeActions(actions []string) string {
	if len(actions) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(actions) // strings always marshal
	return string(b)
}

// decodeActions inverts encodeActions; "[]" gives nil.
func decodeActions(s string) ([]string, error) {
	if s == "[]" || s == "" {
		return nil, nil
	}
	var actions []string
	if err := json.Unmarshal([]byte(s), &actions); err != nil {
		return nil, fmt.Errorf("actions %.40q: %w", s, err)
	}
	return actions, nil
}

// CreateAlert implements store.Alerts.
func (r *Records) CreateAlert(ctx context.Context, a *store.Alert) error {
	if err := CheckAlert(a); err != nil {
		return err
	}
	id, created := orNewID(a.ID), OrNow(a.CreatedAt)
	var resolved any
	if !a.ResolvedAt.IsZero() {
		resolved = r.time(a.ResolvedAt)
	}
	if err := r.insert(ctx, "alert", id, `INSERT INTO alerts
		(id, group_key, rule, created_at, severity, metric, title, message, value, threshold, actions, labels, resolved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, a.Key, a.Rule, r.d.TimeArg(created), a.Severity, a.Metric, a.Title, a.Message, a.Value, a.Threshold,
		encodeActions(a.Actions), EncodeLabels(a.Labels), resolved); err != nil {
		return err
	}
	a.ID, a.CreatedAt = id, created
	if !a.ResolvedAt.IsZero() {
		a.ResolvedAt = Time(a.ResolvedAt)
	}
	return nil
}

// GetAlert implements store.Alerts.
func (r *Records) GetAlert(ctx context.Context, id string) (*store.Alert, error) {
	return getRecord(ctx, r, "alert", id, "SELECT "+alertCols+" FROM alerts WHERE id = $1", r.scanAlert)
}

// ListAlerts implements store.Alerts.
func (r *Records) ListAlerts(ctx context.Context, f store.AlertFilter) ([]*store.Alert, error) {
	if err := checkFilter("alerts",
		textField{name: "severity", value: f.Severity}, textField{name: "metric", value: f.Metric},
		textField{name: "key", value: f.Key}, textField{name: "rule", value: f.Rule}); err != nil {
		return nil, err
	}
	var q Query
	if f.Severity != "" {
		q.Where("severity = ?", f.Severity)
	}
	if f.Metric != "" {
		q.Where("metric = ?", f.Metric)
	}
	if f.Key != "" {
		q.Where("group_key = ?", f.Key)
	}
	if f.Rule != "" {
		q.Where("rule = ?", f.Rule)
	}
	if f.ActiveOnly {
		q.Where("resolved_at IS NULL")
	}
	r.timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + alertCols + " FROM alerts" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "alerts", query, q.Args, r.scanAlert)
}

// ResolveAlert implements store.Alerts.
func (r *Records) ResolveAlert(ctx context.Context, id string, at time.Time) error {
	if !ValidID(id) {
		return notFound("alert", id)
	}
	n, err := r.exec(ctx, "UPDATE alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL", id, r.d.TimeArg(OrNow(at)))
	if err != nil {
		return r.fail("alert "+id+": resolve", err)
	}
	if n == 1 {
		return nil
	}
	a, err := r.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("store: alert %s: %w: resolved already at %s", id, store.ErrConflict, a.ResolvedAt.Format(time.RFC3339Nano))
}
