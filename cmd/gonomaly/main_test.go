package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

const wbc = "../../testdata/datasets/adbench/wbc.csv" // 223 rows x 9 features + label

func gonomaly(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodesAndMessages(t *testing.T) {
	nan := writeFile(t, "nan.csv", "a,b\n1,2\n3,NaN\n")
	ragged := writeFile(t, "ragged.csv", "a,b\n1,2\n3\n")
	empty := writeFile(t, "empty.csv", "")
	text := writeFile(t, "text.csv", "a,b\n1,2\n3,high\n")
	notModel := writeFile(t, "model.gnm", "hello")
	tests := []exitCase{
		{"no input", []string{"detect", "--algorithm", "hbos"}, 2, `required flag(s) "input" not set`},
		{"no algorithm", []string{"detect", "--input", wbc}, 2, "at least one of the flags in the group [algorithm model] is required"},
		{"both", []string{"detect", "--algorithm", "hbos", "--model", "x", "--input", wbc}, 2, "none of the others can be"},
		{"unknown algorithm", []string{"detect", "-a", "forest", "-i", wbc}, 2, "valid: ecod, hbos, isolation_forest, knn, local_outlier_factor, one_class_svm"},
		{"unknown param", []string{"detect", "-a", "knn", "-i", wbc, "-p", "k=3"}, 2, `knn has no parameter "k"`},
		{"param out of range", []string{"detect", "-a", "knn", "-i", wbc, "-p", "n_neighbors=0"}, 2, "out of range"},
		{"bad contamination", []string{"detect", "-a", "knn", "-i", wbc, "--contamination", "0.9"}, 2, "contamination 0.9"},
		{"unknown flag", []string{"detect", "--algo", "knn"}, 2, "unknown flag: --algo"},
		{"unknown command", []string{"dtect"}, 2, "unknown command"},
		{"missing file", []string{"detect", "-a", "hbos", "-i", "nope.csv"}, 1, "no such file"},
		{"NaN", []string{"detect", "-a", "hbos", "-i", nan}, 1, `row 2, column "b": "NaN": NaN or Inf is not allowed`},
		{"ragged", []string{"detect", "-a", "hbos", "-i", ragged}, 1, "row 2: wrong number of fields"},
		{"empty", []string{"detect", "-a", "hbos", "-i", empty}, 1, "no data rows"},
		{"text", []string{"detect", "-a", "hbos", "-i", text}, 1, `row 2, column "b": "high": not a number`},
		{"label missing", []string{"detect", "-a", "hbos", "-i", text, "--label", "y"}, 1, `column "y": no such column`},
		{"not a model", []string{"detect", "--model", notModel, "-i", wbc}, 1, "not a gonomaly model file"},
		{"train without model", []string{"train", "-a", "hbos", "-i", wbc}, 2, `required flag(s) "model" not set`},
	}
	checkExits(t, tests)
}

// exitCase is a command line that must end with an exit code and a message on stderr.
type exitCase struct {
	name string
	args []string
	code int
	msg  string
}

// checkExits runs each case and checks its exit code and message, and that it did not panic.
func checkExits(t *testing.T, tests []exitCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := gonomaly(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q does not say %q", stderr, tc.msg)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr shows a panic: %s", stderr)
			}
		})
	}
}

// TestAwkwardData: data shapes that must never panic, for every algorithm.
func TestAwkwardData(t *testing.T) {
	oneRow := writeFile(t, "one.csv", "a,b\n1,2\n")
	wide := writeFile(t, "wide.csv", "a,b,c,d,e,f\n1,2,3,4,5,6\n2,3,4,5,6,7\n0,1,0,1,0,1\n")
	constant := writeFile(t, "const.csv", "a,b\n1,5\n2,5\n3,5\n4,5\n5,5\n6,5\n7,5\n8,5\n")
	for _, algo := range []string{"isolation_forest", "local_outlier_factor", "one_class_svm", "knn", "hbos", "ecod"} {
		for _, in := range []string{oneRow, wide, constant} {
			code, _, stderr := gonomaly(t, "detect", "-a", algo, "-i", in, "--json")
			if code != 0 && code != 1 {
				t.Errorf("%s on %s: exit %d: %s", algo, filepath.Base(in), code, stderr)
			}
			if strings.Contains(stderr, "panic") {
				t.Errorf("%s on %s: panic: %s", algo, filepath.Base(in), stderr)
			}
			if code == 1 && !strings.Contains(stderr, "gonomaly: ") {
				t.Errorf("%s on %s: unclear error %q", algo, filepath.Base(in), stderr)
			}
		}
	}
	// The one-row file must be a clean error for the neighbour methods, not a crash.
	if code, _, stderr := gonomaly(t, "detect", "-a", "knn", "-i", oneRow); code != 1 {
		t.Errorf("knn on one row: exit %d: %s", code, stderr)
	}
	// A constant column is fine for OCSVM's gamma=scale.
	if code, _, stderr := gonomaly(t, "detect", "-a", "one_class_svm", "-i", constant); code != 0 {
		t.Errorf("one_class_svm on a constant column: exit %d: %s", code, stderr)
	}
}

func TestDetectJSONAndOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "scores.csv")
	code, stdout, stderr := gonomaly(t, "detect", "-a", "isolation_forest", "-i", wbc, "--label", "label", "--json", "--output", out, "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	for _, k := range []string{"algorithm", "rows", "cols", "fit_seconds", "score_seconds", "anomalies", "threshold", "roc_auc", "average_precision", "precision_at_n"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, stdout)
		}
	}
	if res["rows"].(float64) != 223 || res["cols"].(float64) != 9 {
		t.Errorf("rows/cols %v/%v", res["rows"], res["cols"])
	}
	if auc := res["roc_auc"].(float64); auc < 0.9 {
		t.Errorf("ROC-AUC %v on wbc, scikit-learn gets about 0.99", auc)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "score,is_anomaly" || len(lines) != 224 {
		t.Fatalf("output has header %q and %d lines", lines[0], len(lines))
	}
	flagged := strings.Count(string(b), ",1\n")
	if float64(flagged) != res["anomalies"].(float64) {
		t.Errorf("%d rows flagged in the file, %v in the JSON", flagged, res["anomalies"])
	}
	// Same seed, same scores; another seed, other scores.
	out2 := filepath.Join(t.TempDir(), "again.csv")
	gonomaly(t, "detect", "-a", "isolation_forest", "-i", wbc, "--label", "label", "--output", out2, "--seed", "3")
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b, b2) {
		t.Error("the same --seed gave different scores")
	}
	gonomaly(t, "detect", "-a", "isolation_forest", "-i", wbc, "--label", "label", "--output", out2, "--seed", "4")
	b3, _ := os.ReadFile(out2)
	if bytes.Equal(b, b3) {
		t.Error("a different --seed gave the same scores")
	}
	// Without --json the summary goes to stderr and stdout stays empty.
	code, stdout, stderr = gonomaly(t, "detect", "-a", "hbos", "-i", wbc, "--label", "label")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "ROC-AUC") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestTrainThenDetectModel(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "forest.gnm")
	code, stdout, stderr := gonomaly(t, "train", "-a", "isolation_forest", "-i", wbc, "--label", "label", "-m", model, "--json", "-p", "n_estimators=50")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	var tr map[string]any
	if err := json.Unmarshal([]byte(stdout), &tr); err != nil || tr["rows"].(float64) != 223 {
		t.Fatalf("train JSON %q: %v", stdout, err)
	}
	direct := filepath.Join(dir, "direct.csv")
	viaModel := filepath.Join(dir, "model.csv")
	gonomaly(t, "detect", "-a", "isolation_forest", "-i", wbc, "--label", "label", "-p", "n_estimators=50", "-o", direct)
	code, _, stderr = gonomaly(t, "detect", "--model", model, "-i", wbc, "--label", "label", "-o", viaModel, "--chunk-rows", "17")
	if code != 0 {
		t.Fatalf("detect --model: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(direct)
	b, _ := os.ReadFile(viaModel)
	if !bytes.Equal(a, b) {
		t.Error("scores through the saved model (streamed in chunks of 17) differ from fitting directly")
	}
	// The model applied to data of the wrong width: a clear error with a hint.
	code, _, stderr = gonomaly(t, "detect", "--model", model, "-i", wbc)
	if code != 1 || !strings.Contains(stderr, "has 10 feature columns, the model was fitted on 9") || !strings.Contains(stderr, "--label") {
		t.Errorf("wrong width: exit %d: %s", code, stderr)
	}
	code, _, stderr = gonomaly(t, "detect", "--model", model, "-i", wbc, "--label", "label", "--seed", "1")
	if code != 2 {
		t.Errorf("--seed with --model: exit %d: %s", code, stderr)
	}
}

func TestParquetOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "scores.parquet")
	code, _, stderr := gonomaly(t, "detect", "-a", "ecod", "-i", wbc, "--label", "label", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := parquet.ReadFile[scoreRow](out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 223 {
		t.Fatalf("%d rows in the parquet file", len(rows))
	}
	for i, r := range rows {
		if r.Score <= 0 {
			t.Fatalf("row %d: score %v", i, r.Score)
		}
	}
}

func TestHelpListsAlgorithmsAndParams(t *testing.T) {
	code, stdout, _ := gonomaly(t, "detect", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"isolation_forest", "n_estimators", "one_class_svm", "gamma", "--param", "--output"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("detect --help lacks %q", s)
		}
	}
}

// TestSameScoresOnAnyNumberOfCores: the same --seed gives byte-identical output whatever
// GOMAXPROCS is, for every algorithm.
func TestSameScoresOnAnyNumberOfCores(t *testing.T) {
	in := "../../testdata/datasets/adbench/vowels.csv" // 1456 x 12
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, algo := range []string{"isolation_forest", "local_outlier_factor", "one_class_svm", "knn", "hbos", "ecod"} {
		var first []byte
		for _, procs := range []int{1, 2, 5} {
			runtime.GOMAXPROCS(procs)
			out := filepath.Join(t.TempDir(), "s.csv")
			if code, _, stderr := gonomaly(t, "detect", "-a", algo, "-i", in, "--label", "label", "--seed", "11", "-o", out); code != 0 {
				t.Fatalf("%s: %s", algo, stderr)
			}
			b, _ := os.ReadFile(out)
			if first == nil {
				first = b
			} else if !bytes.Equal(first, b) {
				t.Errorf("%s: scores with GOMAXPROCS=%d differ from GOMAXPROCS=1", algo, procs)
			}
		}
	}
}

func TestGzipInput(t *testing.T) {
	raw, err := os.ReadFile(wbc)
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "wbc.csv.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(raw)
	zw.Close()
	f.Close()
	_, plain, _ := gonomaly(t, "detect", "-a", "ecod", "-i", wbc, "--label", "label", "--json")
	code, zipped, stderr := gonomaly(t, "detect", "-a", "ecod", "-i", gz, "--label", "label", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	strip := func(s string) string { // timings differ between runs
		var m map[string]any
		json.Unmarshal([]byte(s), &m)
		delete(m, "fit_seconds")
		delete(m, "score_seconds")
		b, _ := json.Marshal(m)
		return string(b)
	}
	if strip(plain) != strip(zipped) {
		t.Errorf("gzip input gave %s, plain %s", zipped, plain)
	}
}

func TestStdinInput(t *testing.T) {
	f, err := os.Open(wbc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	code, stdout, stderr := gonomaly(t, "detect", "-a", "hbos", "-i", "-", "--label", "label", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"rows":223`) {
		t.Errorf("stdout %s", stdout)
	}
}
