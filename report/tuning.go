package report

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/store"
)

// Bounds of what the report keeps of stored searches and tune runs, which are outside input.
const (
	// MaxSearches and MaxTuneRuns are the most searches and tune runs the sections list (the
	// newest).
	MaxSearches = 20
	MaxTuneRuns = 20
	// maxParams bounds the parameters shown of a trial, maxText a string shown.
	maxParams = 20
	maxText   = 200
)

// searchDoc is the part of a stored search document (bench.SearchDoc, docs/search.md) the
// report shows, decoded from its JSON: the stored JSON is the contract, as for load tests.
type searchDoc struct {
	SuiteID string `json:"suite_id"`
	Name    string `json:"name"`
	Config  struct {
		Algorithm string `json:"algorithm"`
		Dataset   string `json:"dataset"`
		Metric    string `json:"metric"`
	} `json:"config"`
	Rows   int    `json:"rows"`
	Cols   int    `json:"cols"`
	Mode   string `json:"mode"`
	Trials []struct {
		Trial    int            `json:"trial"`
		Params   map[string]any `json:"parameters"`
		Status   string         `json:"status"`
		Rank     int            `json:"rank"`
		Accuracy *struct {
			ROCAUC           float64 `json:"roc_auc"`
			AveragePrecision float64 `json:"average_precision"`
		} `json:"accuracy"`
	} `json:"trials"`
}

// Search is one stored hyper-parameter search (kind "search", bench.SearchDoc,
// docs/search.md): its trials, the best by the search's metric, the gap to the runner-up, and
// the trial of the algorithm's default parameters when the search ran one.
type Search struct {
	SuiteID   string    `json:"suite_id"`
	CreatedAt time.Time `json:"created_at"`
	Algorithm string    `json:"algorithm"`
	// Dataset is the file's base name.
	Dataset string `json:"dataset"`
	Metric  string `json:"metric"`
	Mode    string `json:"mode"`
	Rows    int    `json:"rows"`
	Cols    int    `json:"cols"`
	// Trials counts the document's trials, OK those that finished with a score and Failed the
	// others.
	Trials int `json:"trials"`
	OK     int `json:"ok"`
	Failed int `json:"failed"`
	// BestTrial, BestValue and BestParameters are of the trial with the highest metric
	// (absent when none finished); RunnerUpValue is the second highest and Gap BestValue -
	// RunnerUpValue (absent with fewer than two).
	BestTrial      *int              `json:"best_trial,omitempty"`
	BestValue      *float64          `json:"best_value,omitempty"`
	BestParameters map[string]string `json:"best_parameters"`
	RunnerUpValue  *float64          `json:"runner_up_value,omitempty"`
	Gap            *float64          `json:"gap,omitempty"`
	// DefaultTrial and DefaultValue are of the first finished trial whose parameters are all
	// the algorithm's defaults, absent when the search ran none.
	DefaultTrial *int     `json:"default_trial,omitempty"`
	DefaultValue *float64 `json:"default_value,omitempty"`
}

// addSearch adds a stored search, or says why it cannot.
func (r *Report) addSearch(run *store.BenchmarkRun, d *searchDoc) string {
	if d.Config.Algorithm == "" {
		return "no algorithm"
	}
	s := Search{SuiteID: clip(cmp.Or(d.SuiteID, run.SuiteID)), CreatedAt: run.CreatedAt, Algorithm: clip(d.Config.Algorithm),
		Dataset: baseName(d.Config.Dataset), Metric: clip(d.Config.Metric), Mode: clip(d.Mode),
		Rows: d.Rows, Cols: d.Cols, Trials: len(d.Trials), BestParameters: map[string]string{}}
	alg, _ := detector.Lookup(d.Config.Algorithm)
	best, second := -1, -1
	var bestV, secondV float64
	// better orders trials by value, then the document's rank (a positive rank first,
	// lower first), then order.
	better := func(i int, v float64, j int, w float64) bool {
		if v != w {
			return v > w
		}
		ri, rj := d.Trials[i].Rank, d.Trials[j].Rank
		if (ri > 0) != (rj > 0) {
			return ri > 0
		}
		return ri < rj
	}
	for i, t := range d.Trials {
		v, ok := trialValue(t.Status, s.Metric, t.Accuracy)
		if !ok {
			s.Failed++
			continue
		}
		s.OK++
		switch {
		case best < 0 || better(i, v, best, bestV):
			second, secondV = best, bestV
			best, bestV = i, v
		case second < 0 || better(i, v, second, secondV):
			second, secondV = i, v
		}
		if s.DefaultTrial == nil && alg != nil && defaultParams(alg, t.Params) {
			n, dv := t.Trial, v
			s.DefaultTrial, s.DefaultValue = &n, &dv
		}
	}
	if best >= 0 {
		n := d.Trials[best].Trial
		s.BestTrial, s.BestValue = &n, &bestV
		s.BestParameters = showParams(d.Trials[best].Params)
	}
	if second >= 0 {
		gap := bestV - secondV
		s.RunnerUpValue, s.Gap = &secondV, &gap
	}
	r.Searches = append(r.Searches, s)
	if len(r.Searches) > MaxSearches { // oldest first: keep the newest
		r.Searches = r.Searches[1:]
	}
	return ""
}

// trialValue is a trial's value of the metric, if it finished with a finite one.
func trialValue(status, metric string, acc *struct {
	ROCAUC           float64 `json:"roc_auc"`
	AveragePrecision float64 `json:"average_precision"`
}) (float64, bool) {
	if status != "ok" || acc == nil {
		return 0, false
	}
	v := acc.ROCAUC
	if metric == "average_precision" {
		v = acc.AveragePrecision
	}
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

// defaultParams reports whether every parameter given is the algorithm's default (those not
// given are).
func defaultParams(alg *detector.Algorithm, params map[string]any) bool {
	for name, v := range params {
		i := slices.IndexFunc(alg.Params, func(p detector.ParamSpec) bool { return p.Name == name })
		if i < 0 || !sameValue(alg.Params[i].Default, v) {
			return false
		}
	}
	return true
}

// sameValue compares a parameter's default with a stored value: numbers as numbers (a stored
// value may be a JSON number or the text of one), booleans and text as such.
func sameValue(def, v any) bool {
	number := func(x any) (float64, bool) {
		switch x := x.(type) {
		case int:
			return float64(x), true
		case float64:
			return x, true
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			return f, err == nil
		}
		return 0, false
	}
	switch dv := def.(type) {
	case int, float64:
		a, _ := number(dv)
		b, ok := number(v)
		return ok && a == b
	case bool:
		switch x := v.(type) {
		case bool:
			return x == dv
		case string:
			b, err := strconv.ParseBool(x)
			return err == nil && b == dv
		}
	case string:
		if x, ok := v.(string); ok {
			return x == dv
		}
		// A number default of a FloatOrChoice parameter is stored as text.
		a, ok1 := number(dv)
		b, ok2 := number(v)
		return ok1 && ok2 && a == b
	}
	return false
}

// showParams is a trial's parameters as text, at most maxParams (the first by name).
func showParams(params map[string]any) map[string]string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make(map[string]string, min(len(names), maxParams))
	for _, k := range names[:min(len(names), maxParams)] {
		var v string
		switch x := params[k].(type) {
		case string:
			v = x
		case float64:
			v = strconv.FormatFloat(x, 'g', -1, 64)
		case bool, nil:
			v = fmt.Sprint(x)
		default:
			v = "(not a scalar)"
		}
		out[clipN(k, 64)] = clipN(v, 64)
	}
	return out
}

// baseName is a file's base name (a path may say more than the report should), clipped.
func baseName(p string) string {
	if p == "" {
		return ""
	}
	return clip(path.Base(strings.ReplaceAll(p, `\`, "/")))
}

// clip cuts s to maxText runes (valid UTF-8 only), ending it with "…" when cut.
func clip(s string) string { return clipN(s, maxText) }

func clipN(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// searchRecommendations advise the best parameters of a search whose default-parameter trial
// scored lower; searches without such a trial advise nothing.
func searchRecommendations(searches []Search) []Recommendation {
	var out []Recommendation
	for _, s := range searches {
		if s.DefaultValue == nil || s.BestValue == nil || !(*s.BestValue > *s.DefaultValue) {
			continue
		}
		names := make([]string, 0, len(s.BestParameters))
		for k := range s.BestParameters {
			names = append(names, k)
		}
		slices.Sort(names)
		var ps []string
		for _, k := range names {
			ps = append(ps, k+"="+s.BestParameters[k])
		}
		out = append(out, Recommendation{Source: "search", Severity: monitor.SeverityInfo.String(), Subject: s.Algorithm,
			Text: fmt.Sprintf("on %s, %s scored %s %.4g against %.4g with the defaults (trial %d of %d)",
				s.Dataset, strings.Join(ps, " "), s.Metric, *s.BestValue, *s.DefaultValue, *s.DefaultTrial, s.Trials),
			Actions: []string{"the search fitted and scored the same labelled rows: confirm on other labelled data before changing the parameters"}})
	}
	return out
}

// tuneDoc is the part of a stored tune document (`gonomaly performance tune`, docs/tuning.md)
// the report shows, both modes in one: the stored JSON is the contract.
type tuneDoc struct {
	SuiteID string `json:"suite_id"`
	Mode    string `json:"mode"`
	// service
	URL              string     `json:"url"`
	TargetP99Seconds float64    `json:"target_p99_seconds"`
	Before           *tuneTrial `json:"before"`
	Best             *tuneTrial `json:"best"`
	After            *tuneTrial `json:"after"`
	Trials           []struct{} `json:"trials"`
	Applied          bool       `json:"applied"`
	Met              bool       `json:"met"`
	Truncated        bool       `json:"truncated"`
	Note             string     `json:"note"`
	// offline
	Model string `json:"model"`
}

// tuneTrial is a setting of either mode.
type tuneTrial struct {
	BatchMax    int     `json:"batch_max"`
	BatchWait   string  `json:"batch_wait"`
	Workers     int     `json:"workers"`
	Throughput  float64 `json:"throughput"`
	P50Seconds  float64 `json:"p50_seconds"`
	P99Seconds  float64 `json:"p99_seconds"`
	ChunkRows   int     `json:"chunk_rows"`
	Seconds     float64 `json:"seconds"`
	RowsPerSec  float64 `json:"rows_per_second"`
	SuccessRate float64 `json:"success_rate"`
}

// Modes of TuneRun.Mode.
const (
	TuneService = "service"
	TuneOffline = "offline"
)

// TuneRun is one stored tune run (kind "tune", docs/tuning.md): a running service's
// micro-batching (service) or a model's chunk size and workers scoring a file (offline).
type TuneRun struct {
	SuiteID   string    `json:"suite_id"`
	CreatedAt time.Time `json:"created_at"`
	Mode      string    `json:"mode"`
	// Target is the service's host (and port; never its credentials, path or query), or the
	// model file's base name offline.
	Target           string  `json:"target"`
	TargetP99Seconds float64 `json:"target_p99_seconds,omitempty"`
	Trials           int     `json:"trials"`
	// Before is the setting in force (service) or the defaults (offline); After the setting
	// chosen, absent when none was.
	Before *TuneFigures `json:"before,omitempty"`
	After  *TuneFigures `json:"after,omitempty"`
	// Setting is the setting chosen, empty when none was; Applied whether the service runs
	// it now (offline runs apply nothing); Note why.
	Setting   string `json:"setting"`
	Applied   bool   `json:"applied"`
	Met       bool   `json:"met"`
	Truncated bool   `json:"truncated"`
	Note      string `json:"note"`
}

// TuneFigures are a setting's figures: throughput and latency of a service, seconds and rows
// a second of an offline run.
type TuneFigures struct {
	Setting       string  `json:"setting"`
	Throughput    float64 `json:"throughput,omitempty"`
	P50Seconds    float64 `json:"p50_seconds,omitempty"`
	P99Seconds    float64 `json:"p99_seconds,omitempty"`
	Seconds       float64 `json:"seconds,omitempty"`
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
}

func (t *tuneTrial) figures(mode string) *TuneFigures {
	if t == nil {
		return nil
	}
	if mode == TuneOffline {
		return &TuneFigures{Setting: fmt.Sprintf("chunk_rows=%d workers=%d", t.ChunkRows, t.Workers), Seconds: t.Seconds, RowsPerSecond: t.RowsPerSec}
	}
	return &TuneFigures{Setting: clipN(fmt.Sprintf("batch_max=%d batch_wait=%s workers=%d", t.BatchMax, t.BatchWait, t.Workers), 100),
		Throughput: t.Throughput, P50Seconds: t.P50Seconds, P99Seconds: t.P99Seconds}
}

// serviceHost is the host (and port) of a service URL, without credentials, path or query.
func serviceHost(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "(no valid URL)"
	}
	return clipN(u.Host, 100)
}

// addTune adds a stored tune run, or says why it cannot.
func (r *Report) addTune(run *store.BenchmarkRun, d *tuneDoc) string {
	t := TuneRun{SuiteID: clip(cmp.Or(d.SuiteID, run.SuiteID)), CreatedAt: run.CreatedAt, Mode: d.Mode, Trials: len(d.Trials),
		Before: d.Before.figures(d.Mode), Truncated: d.Truncated}
	switch d.Mode {
	case TuneService:
		t.Target, t.TargetP99Seconds, t.Applied, t.Met = serviceHost(d.URL), d.TargetP99Seconds, d.Applied, d.Met
		t.After = d.After.figures(d.Mode)
		if d.Met && t.After != nil { // the setting kept: the best, or the original when it held
			t.Setting = t.After.Setting
		}
		note := d.Note
		if d.URL != "" { // the note never shows the URL either
			note = strings.ReplaceAll(note, d.URL, t.Target)
		}
		t.Note = clip(note)
	case TuneOffline:
		t.Target = baseName(d.Model)
		t.After = d.Best.figures(d.Mode)
		if t.After != nil {
			t.Setting, t.Met = t.After.Setting, true
			t.Note = fmt.Sprintf("offline runs apply nothing: use gonomaly detect --chunk-rows %d with GOMAXPROCS=%d", d.Best.ChunkRows, d.Best.Workers)
			if d.Before != nil && d.Best.ChunkRows == d.Before.ChunkRows && d.Best.Workers == d.Before.Workers {
				t.Note = "the defaults were the fastest"
			}
		} else {
			t.Note = "no setting finished"
		}
	default:
		return "mode neither service nor offline"
	}
	r.TuneRuns = append(r.TuneRuns, t)
	if len(r.TuneRuns) > MaxTuneRuns { // oldest first: keep the newest
		r.TuneRuns = r.TuneRuns[1:]
	}
	return ""
}
