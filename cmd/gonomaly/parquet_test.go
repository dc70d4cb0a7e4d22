package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/gonomaly/gonomaly/dataset"
)

// wbcParquet writes testdata's wbc.csv, label column included, as Parquet in row groups of
// 100 rows.
func wbcParquet(t *testing.T) string {
	t.Helper()
	tab, err := dataset.ReadCSVFile(wbc, dataset.Options{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := dataset.WriteParquet(&b, tab, "label", 100); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "wbc.parquet")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// withoutTimes drops the timings of a detect --json document, which differ between runs.
func withoutTimes(t *testing.T, s string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	delete(m, "fit_seconds")
	delete(m, "score_seconds")
	b, _ := json.Marshal(m)
	return string(b)
}

// TestParquetInputSameAsCSV: detect --json and --output give the same result for the Parquet
// copy of a CSV file, fitting directly and through a model trained on either, and train
// saves the same model from both.
func TestParquetInputSameAsCSV(t *testing.T) {
	pq := wbcParquet(t)
	dir := t.TempDir()
	run := func(args ...string) (string, []byte) {
		t.Helper()
		out := filepath.Join(dir, "scores.csv")
		code, stdout, stderr := gonomaly(t, append(args, "--label", "label", "--json", "-o", out)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return withoutTimes(t, stdout), b
	}
	for _, algo := range []string{"isolation_forest", "local_outlier_factor", "ecod"} {
		jc, sc := run("detect", "-a", algo, "--seed", "5", "-i", wbc)
		jp, sp := run("detect", "-a", algo, "--seed", "5", "-i", pq)
		if jc != jp || !bytes.Equal(sc, sp) {
			t.Errorf("%s: Parquet input gave %s, CSV %s (scores equal: %v)", algo, jp, jc, bytes.Equal(sc, sp))
		}
		if !strings.Contains(jp, `"rows":223`) || !strings.Contains(jp, `"roc_auc"`) {
			t.Errorf("%s: %s", algo, jp)
		}
	}
	models := map[string]string{}
	for name, in := range map[string]string{"csv": wbc, "parquet": pq} {
		models[name] = filepath.Join(dir, name+".gnm")
		if code, _, stderr := gonomaly(t, "train", "-a", "isolation_forest", "--seed", "2", "-i", in, "--label", "label", "-m", models[name]); code != 0 {
			t.Fatalf("train on %s: %s", name, stderr)
		}
	}
	a, _ := os.ReadFile(models["csv"])
	b, _ := os.ReadFile(models["parquet"])
	if !bytes.Equal(a, b) {
		t.Error("train saved different models from the CSV and the Parquet file")
	}
	jc, sc := run("detect", "--model", models["csv"], "-i", wbc, "--chunk-rows", "30")
	jp, sp := run("detect", "--model", models["csv"], "-i", pq, "--chunk-rows", "30")
	if jc != jp || !bytes.Equal(sc, sp) {
		t.Errorf("--model: Parquet input gave %s, CSV %s", jp, jc)
	}
	// Parquet scores from Parquet input.
	out := filepath.Join(dir, "scores.parquet")
	if code, _, stderr := gonomaly(t, "detect", "--model", models["csv"], "-i", pq, "--label", "label", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := parquet.ReadFile[scoreRow](out)
	if err != nil || len(rows) != 223 {
		t.Fatalf("%d rows: %v", len(rows), err)
	}
}

func TestParquetInputErrors(t *testing.T) {
	write := func(name string, rows any) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		var b bytes.Buffer
		var err error
		switch r := rows.(type) {
		case []struct {
			A float64 `parquet:"a"`
			S string  `parquet:"s"`
		}:
			err = parquet.Write(&b, r)
		case []struct {
			A float64 `parquet:"a"`
		}:
			err = parquet.Write(&b, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("text.parquet", []struct {
		A float64 `parquet:"a"`
		S string  `parquet:"s"`
	}{{1, "x"}, {2, "y"}})
	empty := write("empty.parquet", []struct {
		A float64 `parquet:"a"`
	}{})
	plain := write("plain.parquet", []struct {
		A float64 `parquet:"a"`
	}{{1}, {2}, {3}})
	zero := writeFile(t, "zero.parquet", "")
	notPQ := writeFile(t, "csv.parquet", "a,b\n1,2\n")
	model := filepath.Join(t.TempDir(), "m.gnm")
	if code, _, stderr := gonomaly(t, "train", "-a", "hbos", "-i", wbc, "--label", "label", "-m", model); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"string column", []string{"detect", "-a", "hbos", "-i", text}, `text.parquet: column "s": not a number: a STRING column`},
		{"string column, model", []string{"detect", "--model", model, "-i", text}, `column "s": not a number`},
		{"string column, train", []string{"train", "-a", "hbos", "-i", text, "-m", model}, `column "s": not a number`},
		{"empty", []string{"detect", "-a", "hbos", "-i", empty}, "empty.parquet: no data rows"},
		{"empty, model", []string{"detect", "--model", model, "-i", empty}, "has 1 feature columns, the model was fitted on 9"},
		{"zero bytes", []string{"detect", "-a", "hbos", "-i", zero}, "zero.parquet: no data rows"},
		{"not parquet", []string{"detect", "-a", "hbos", "-i", notPQ}, "csv.parquet: unsupported file format: not a Parquet file"},
		{"missing label", []string{"detect", "-a", "hbos", "-i", plain, "--label", "y"}, `plain.parquet: column "y": no such column: label column not in schema [a]`},
		{"missing label, model", []string{"detect", "--model", model, "-i", plain, "--label", "y"}, `column "y": no such column`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := gonomaly(t, tc.args...)
			if code != 1 || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.msg)
			}
			if strings.Contains(stderr, "panic") {
				t.Errorf("panic: %s", stderr)
			}
		})
	}
}
