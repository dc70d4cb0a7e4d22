package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// streamRows and streamCols are the shape of the files these tests stream: large enough for
// several chunks and a sample smaller than the file, small enough to stay quick.
const streamRows, streamCols = 30_000, 4

// streamFiles writes the same labelled synthetic table as CSV, gzip CSV and Parquet (row
// groups of 7,000 rows) and returns the table and the three paths.
func streamFiles(t *testing.T) (*dataset.Table, map[string]string) {
	t.Helper()
	X, labels := dataset.Synthetic(dataset.SyntheticConfig{Rows: streamRows, Cols: streamCols, Contamination: 0.05, Seed: 11})
	tab := &dataset.Table{X: X, Labels: labels}
	for j := range streamCols {
		tab.Columns = append(tab.Columns, "f"+strconv.Itoa(j))
	}
	var csv bytes.Buffer
	csv.WriteString(strings.Join(tab.Columns, ",") + ",label\n")
	for i := range X.Rows {
		for _, v := range X.Row(i) {
			csv.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + ",")
		}
		csv.WriteString(strconv.Itoa(labels[i]) + "\n")
	}
	dir := t.TempDir()
	paths := map[string]string{"csv": filepath.Join(dir, "d.csv"), "gzip": filepath.Join(dir, "d.csv.gz"), "parquet": filepath.Join(dir, "d.parquet")}
	if err := os.WriteFile(paths["csv"], csv.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(csv.Bytes())
	zw.Close()
	if err := os.WriteFile(paths["gzip"], gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var pq bytes.Buffer
	if err := dataset.WriteParquet(&pq, tab, "label", 7000); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths["parquet"], pq.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return tab, paths
}

// inMemoryScores fits algo (seed 5) on the seeded reservoir sample of n rows of path that
// detect draws, scores the whole file in memory with that model, and returns the score file
// the CSV writer makes of it and the scores.
func inMemoryScores(t *testing.T, algo, path string, n int, seed uint64) ([]byte, []float64) {
	t.Helper()
	ctx := context.Background()
	src, err := dataset.Open(path, dataset.Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	sample, err := dataset.Reservoir(ctx, src, n, seed)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{}
	if a, _ := detector.Lookup(algo); a.Seeded {
		raw["seed"] = strconv.FormatUint(seed, 10)
	}
	m, err := detector.NewModel(algo, raw, detector.DefaultContamination)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(ctx, sample); err != nil {
		t.Fatal(err)
	}
	return scoreInMemory(t, m, path)
}

// scoreInMemory reads path whole and scores it with m in one call.
func scoreInMemory(t *testing.T, m *detector.Model, path string) ([]byte, []float64) {
	t.Helper()
	tab, err := dataset.ReadFile(context.Background(), path, dataset.Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	scores, err := m.Score(context.Background(), tab.X, nil)
	if err != nil {
		t.Fatal(err)
	}
	flags := make([]bool, len(scores))
	for i, s := range scores {
		flags[i] = m.IsAnomaly(s)
	}
	var b bytes.Buffer
	w := dataset.NewCSVScoreWriter(&b)
	if err := w.Write(scores, flags); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), scores
}

// TestDetectStreamEqualsInMemory: detect's streaming path (a fit on a seeded sample, then a
// second pass) writes, for a CSV, a gzip CSV and a Parquet file, exactly the scores that
// scoring the whole file in memory with the same fitted model gives, bit for bit; so does
// --model. Parquet output holds the same float64s.
func TestDetectStreamEqualsInMemory(t *testing.T) {
	_, paths := streamFiles(t)
	dir := t.TempDir()
	for _, kind := range []string{"csv", "gzip", "parquet"} {
		in := paths[kind]
		for _, tc := range []struct {
			algo string
			n    int
		}{{"isolation_forest", 3000}, {"hbos", 5000}, {"local_outlier_factor", 800}} {
			if tc.algo != "isolation_forest" && kind != "csv" {
				continue // the input's format matters to the reader, not to the detector
			}
			out := filepath.Join(dir, kind+"-"+tc.algo+".csv")
			code, stdout, stderr := gonomaly(t, "detect", "-a", tc.algo, "--seed", "5", "-i", in, "--label", "label",
				"--fit-rows", strconv.Itoa(tc.n), "--chunk-rows", "1000", "-o", out, "--json")
			if code != 0 {
				t.Fatalf("%s %s: exit %d: %s", kind, tc.algo, code, stderr)
			}
			if !strings.Contains(stderr, "seeded sample of "+group(int64(tc.n))+" rows (--fit-rows)") {
				t.Errorf("%s %s: stderr does not say the fit is on a sample: %q", kind, tc.algo, stderr)
			}
			want, _ := inMemoryScores(t, tc.algo, in, tc.n, 5)
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s %s: streamed scores differ from in-memory scores of the same model (%d vs %d bytes)", kind, tc.algo, len(got), len(want))
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("%s: %v: %q", kind, err, stdout)
			}
			if res["rows"] != float64(streamRows) || res["cols"] != float64(streamCols) || res["roc_auc"] == nil {
				t.Errorf("%s %s: --json %s", kind, tc.algo, stdout)
			}
		}
	}
	// Parquet output: the same float64s.
	pqOut := filepath.Join(dir, "s.parquet")
	if code, _, stderr := gonomaly(t, "detect", "-a", "isolation_forest", "--seed", "5", "-i", paths["gzip"], "--label", "label", "--fit-rows", "3000", "-o", pqOut); code != 0 {
		t.Fatalf("parquet output: %s", stderr)
	}
	rows, err := parquet.ReadFile[dataset.ScoreRow](pqOut)
	if err != nil {
		t.Fatal(err)
	}
	_, want := inMemoryScores(t, "isolation_forest", paths["csv"], 3000, 5)
	if len(rows) != len(want) {
		t.Fatalf("%d Parquet rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if math.Float64bits(r.Score) != math.Float64bits(want[i]) {
			t.Fatalf("Parquet row %d: score %v, in memory %v", i+1, r.Score, want[i])
		}
	}
	// --model always streams: the same scores as the model in memory.
	model := filepath.Join(dir, "m.gnm")
	if code, _, stderr := gonomaly(t, "train", "-a", "isolation_forest", "--seed", "2", "-i", paths["csv"], "--label", "label", "-m", model); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	m, err := detector.LoadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	want2, _ := scoreInMemory(t, m, paths["csv"])
	for _, kind := range []string{"csv", "gzip", "parquet"} {
		out := filepath.Join(dir, "model-"+kind+".csv")
		if code, _, stderr := gonomaly(t, "detect", "--model", model, "-i", paths[kind], "--label", "label", "-o", out, "--chunk-rows", "777"); code != 0 {
			t.Fatalf("--model %s: %s", kind, stderr)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want2) {
			t.Errorf("--model %s: streamed scores differ from in-memory scores", kind)
		}
	}
}

// TestDetectSwitchesToStreaming: with a --max-memory the data and its fit would not fit,
// detect says so on stderr, fits on the largest sample the budget allows and scores every
// row; with a budget they fit, it reads the file into memory as before, without a word.
func TestDetectSwitchesToStreaming(t *testing.T) {
	tab, paths := streamFiles(t)
	m, err := detector.NewModel("isolation_forest", map[string]any{"seed": "1"}, detector.DefaultContamination)
	if err != nil {
		t.Fatal(err)
	}
	// What 12,000 rows need streaming, with the chunks of each input's reader: the plan
	// should take about that many.
	budget := func(in string) int64 {
		return baseMemory + streamBytes(dataset.DefaultChunkRows, streamCols, in, "") + int64(sampleBytes(m, 12_000, streamCols))
	}
	for _, kind := range []string{"csv", "gzip", "parquet"} {
		b := budget(paths[kind])
		if whole := inMemoryBytes(m, paths[kind], streamRows, streamCols, true); float64(b) >= whole {
			t.Fatalf("budget %d is not below the in-memory estimate %.0f", b, whole)
		}
		code, stdout, stderr := gonomaly(t, "detect", "-a", "isolation_forest", "--seed", "1", "-i", paths[kind], "--label", "label",
			"--max-memory", strconv.FormatInt(b, 10), "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, stderr)
		}
		if !strings.Contains(stderr, "over --max-memory "+strconv.FormatInt(b, 10)) || !strings.Contains(stderr, "then scoring every row streaming") {
			t.Errorf("%s: stderr does not say why and how it streams: %q", kind, stderr)
		}
		_, after, ok := strings.Cut(stderr, "fitting on a seeded sample of ")
		n, _ := strconv.Atoi(strings.ReplaceAll(strings.Fields(after + " x")[0], ",", ""))
		if !ok || n < 11_000 || n > 12_000 {
			t.Errorf("%s: sample of %d rows, want the 12,000 the budget allows: %q", kind, n, stderr)
		}
		// The budget holds the sample, not the metrics as well.
		if !strings.Contains(stdout, fmt.Sprintf(`"rows":%d,"cols":%d`, streamRows, streamCols)) || strings.Contains(stdout, `"roc_auc"`) ||
			!strings.Contains(stderr, "no accuracy metrics") {
			t.Errorf("%s: --json %s", kind, stdout)
		}
		// The same sample size asked for with --fit-rows gives the same scores.
		o1, o2 := filepath.Join(t.TempDir(), "a.csv"), filepath.Join(t.TempDir(), "b.csv")
		gonomaly(t, "detect", "-a", "isolation_forest", "--seed", "1", "-i", paths[kind], "--label", "label", "--max-memory", strconv.FormatInt(b, 10), "-o", o1)
		gonomaly(t, "detect", "-a", "isolation_forest", "--seed", "1", "-i", paths[kind], "--label", "label", "--fit-rows", strconv.Itoa(n), "-o", o2)
		if a, b := readOrEmpty(o1), readOrEmpty(o2); len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: the budget's sample and --fit-rows %d gave different scores", kind, n)
		}
	}
	// The default budget holds this file: no switch, every row fitted in memory.
	code, stdout, stderr := gonomaly(t, "detect", "-a", "isolation_forest", "--seed", "1", "-i", paths["csv"], "--label", "label", "--json")
	if code != 0 || strings.Contains(stderr, "streaming") || !strings.Contains(stdout, `"rows":30000`) {
		t.Errorf("default budget: exit %d, stderr %q", code, stderr)
	}
	_ = tab
}

func readOrEmpty(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// TestDetectFitRows: --fit-rows fits on a sample of that many rows (every row when the file
// has fewer) and scores every row; the summary says what the fit saw.
func TestDetectFitRows(t *testing.T) {
	_, paths := streamFiles(t)
	for _, tc := range []struct {
		n    string
		want string
	}{
		{"500", "a seeded sample of 500 rows (of 30,000)"},
		{"100000", "a seeded sample of 30,000 rows (of 30,000)"},
	} {
		code, _, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", paths["csv"], "--label", "label", "--fit-rows", tc.n)
		if code != 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "30000 x 4") {
			t.Errorf("--fit-rows %s: exit %d, stderr %q; want %q", tc.n, code, stderr, tc.want)
		}
	}
	// Another seed, another sample, other scores; the same seed, the same.
	out := func(seed string) []byte {
		p := filepath.Join(t.TempDir(), "s.csv")
		if code, _, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", paths["csv"], "--label", "label", "--fit-rows", "300", "--seed", seed, "-o", p); code != 0 {
			t.Fatal(stderr)
		}
		return readOrEmpty(p)
	}
	if a, b, c := out("1"), out("1"), out("2"); !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("seeds: 1 and 1 equal %v, 1 and 2 equal %v", bytes.Equal(a, b), bytes.Equal(a, c))
	}
}

// TestDetectStreamFlags: bad budget and sample flags are usage errors (exit 2) that say what
// is wrong.
func TestDetectStreamFlags(t *testing.T) {
	_, paths := streamFiles(t)
	in := paths["csv"]
	model := filepath.Join(t.TempDir(), "m.gnm")
	if code, _, stderr := gonomaly(t, "train", "-a", "hbos", "-i", in, "--label", "label", "-m", model); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--max-memory", "-1"}, "must not be negative"},
		{[]string{"--max-memory", "-5MiB"}, "must not be negative"},
		{[]string{"--max-memory", "1PiB"}, "not a number with a unit"},
		{[]string{"--max-memory", "1000TiB"}, "more than the"},
		{[]string{"--max-memory", "9223372036854775807"}, "more than the"},
		{[]string{"--fit-rows", "0"}, "--fit-rows 0: must be between 1 and 100000000"},
		{[]string{"--fit-rows", "-3"}, "--fit-rows -3: must be between 1"},
		{[]string{"--fit-rows", "100000001"}, "must be between 1 and 100000000"},
		{[]string{"--fit-rows", "many"}, "invalid argument"},
		{[]string{"--chunk-rows", "0"}, "--chunk-rows 0: must be between 1"},
		{[]string{"--chunk-rows", "1000000000"}, "--chunk-rows 1000000000: must be between 1"},
		{[]string{"--max-fit-time", "-1s"}, "--max-fit-time -1s: must not be negative"},
	} {
		args := append([]string{"detect", "-a", "hbos", "-i", in, "--label", "label"}, tc.args...)
		if code, stdout, stderr := gonomaly(t, args...); code != 2 || !strings.Contains(stderr, tc.msg) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", tc.args, code, stderr, tc.msg)
		}
	}
	for _, args := range [][]string{
		{"detect", "--model", model, "-i", in, "--label", "label", "--fit-rows", "10"},
		{"detect", "-a", "hbos", "-i", "-", "--fit-rows", "10"},
	} {
		if code, _, stderr := gonomaly(t, args...); code != 2 || !strings.Contains(stderr, "--fit-rows") {
			t.Errorf("%v: exit %d, stderr %q; want 2 about --fit-rows", args, code, stderr)
		}
	}
}

// TestDetectStreamHostileFiles: a truncated gzip file and a ragged row deep in the file (met
// in the sampling pass, or appended between the passes, so met only while scoring) are
// errors naming the row, exit 1, with nothing on stdout and no score file claimed: an
// existing one is left as it was.
func TestDetectStreamHostileFiles(t *testing.T) {
	_, paths := streamFiles(t)
	dir := t.TempDir()
	gz, _ := os.ReadFile(paths["gzip"])
	truncated := filepath.Join(dir, "cut.csv.gz")
	if err := os.WriteFile(truncated, gz[:len(gz)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	csv, _ := os.ReadFile(paths["csv"])
	lines := strings.SplitAfter(string(csv), "\n")
	lines[25_001] = "1.5,2.5\n" // data row 25,001 has 2 fields of 5
	ragged := filepath.Join(dir, "ragged.csv")
	if err := os.WriteFile(ragged, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	late := filepath.Join(dir, "late.csv")
	if err := os.WriteFile(late, csv, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "scores.csv")
	for _, tc := range []struct {
		name string
		args []string
		want []string
		hook func()
	}{
		{"truncated gzip, sampling", []string{"-a", "isolation_forest", "-i", truncated, "--fit-rows", "1000"}, []string{"cut.csv.gz: row ", "unexpected EOF"}, nil},
		{"truncated gzip, in memory", []string{"-a", "isolation_forest", "-i", truncated}, []string{"cut.csv.gz: row ", "unexpected EOF"}, nil},
		{"truncated gzip, --model", []string{"--model", "", "-i", truncated}, []string{"cut.csv.gz: row ", "unexpected EOF"}, nil},
		{"ragged, sampling", []string{"-a", "isolation_forest", "-i", ragged, "--fit-rows", "1000"}, []string{"ragged.csv: row 25001: wrong number of fields: 2 fields, header has 5"}, nil},
		{"ragged, small budget", []string{"-a", "isolation_forest", "-i", ragged, "--max-memory", "40MiB"}, []string{"ragged.csv: row 25001: wrong number of fields"}, nil},
		{"ragged after the sample", []string{"-a", "isolation_forest", "-i", late, "--fit-rows", "1000"}, []string{"late.csv: row 30002: wrong number of fields: 1 fields, header has 5"}, func() {
			f, err := os.OpenFile(late, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			f.WriteString("1,1,1,1,0\n7\n1,1,1,1,0\n")
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args[0] == "--model" {
				tc.args[1] = filepath.Join(t.TempDir(), "m.gnm")
				if code, _, stderr := gonomaly(t, "train", "-a", "hbos", "-i", paths["csv"], "--label", "label", "-m", tc.args[1]); code != 0 {
					t.Fatal(stderr)
				}
			}
			if err := os.WriteFile(out, []byte("old scores\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			afterSample = tc.hook
			defer func() { afterSample = nil }()
			code, stdout, stderr := gonomaly(t, append(append([]string{"detect"}, tc.args...), "--label", "label", "-o", out, "--json")...)
			if code != 1 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if b := readOrEmpty(out); string(b) != "old scores\n" {
				t.Errorf("the score file was replaced by %d bytes from a failed run", len(b))
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp*")); len(m) > 0 {
				t.Errorf("left behind: %v", m)
			}
		})
	}
}

// TestDetectStreamMetricsBudget: on the streaming path, the metrics are computed when the
// scores and labels fit the budget beside the model, and skipped with a note on stderr when
// they do not; the scores are written either way and --json keeps its shape.
func TestDetectStreamMetricsBudget(t *testing.T) {
	_, paths := streamFiles(t)
	in := paths["csv"]
	m, err := detector.NewModel("hbos", nil, detector.DefaultContamination)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	stream := streamBytes(dataset.DefaultChunkRows, streamCols, in, "")
	fit := baseMemory + stream + int64(sampleBytes(m, n, streamCols))
	metrics := int64(streamRows * metricBytesPerRow)
	for _, tc := range []struct {
		budget int64
		keep   bool
	}{
		{fit + metrics/2, false},
		{fit + 2*metrics, true},
	} {
		out := filepath.Join(t.TempDir(), "s.csv")
		code, stdout, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", in, "--label", "label", "--fit-rows", strconv.Itoa(n),
			"--max-memory", strconv.FormatInt(tc.budget, 10), "--json", "-o", out)
		if code != 0 {
			t.Fatalf("budget %d: exit %d: %s", tc.budget, code, stderr)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		_, has := res["roc_auc"]
		noted := strings.Contains(stderr, "no accuracy metrics (ROC-AUC needs every score)")
		if has != tc.keep || noted == tc.keep || res["rows"] != float64(streamRows) {
			t.Errorf("budget %d: metrics %v, note %v, want metrics %v: %s %s", tc.budget, has, noted, tc.keep, stdout, stderr)
		}
		if lines := bytes.Count(readOrEmpty(out), []byte("\n")); lines != streamRows+1 {
			t.Errorf("budget %d: %d lines of scores", tc.budget, lines)
		}
	}
}

// TestDetectStreamProgress: on a terminal, the sampling pass and the scoring pass both show
// their rows, rate and time left.
func TestDetectStreamProgress(t *testing.T) {
	_, paths := streamFiles(t)
	term := &fakeTerminal{}
	args := []string{"detect", "-a", "hbos", "-i", paths["gzip"], "--label", "label", "--fit-rows", "1000", "--chunk-rows", "2000"}
	if code := run(t.Context(), args, &bytes.Buffer{}, term); code != 0 {
		t.Fatalf("exit %d: %s", code, term.String())
	}
	s := term.String()
	for _, want := range []string{"sampling 1,000 rows of " + paths["gzip"] + ": 2,000 of ", "fitting hbos on a sample of 1000 x 4", "scoring " + paths["gzip"] + ": 2,000 of 30,000 rows", "30,000 of 30,000 rows (100%)"} {
		if !strings.Contains(s, want) {
			t.Errorf("stderr does not show %q: %q", want, s)
		}
	}
}
