package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestPredictBodies(t *testing.T) {
	a, err := PredictBodies(`id"1`, 3, 5, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PredictBodies(`id"1`, 3, 5, 4, 7)
	c, _ := PredictBodies(`id"1`, 3, 5, 4, 8)
	if len(a) != 4 || !bytes.Equal(a[0], b[0]) || bytes.Equal(a[0], c[0]) || bytes.Equal(a[0], a[1]) {
		t.Fatalf("bodies are not seeded and distinct: %s %s", a[0], c[0])
	}
	var v struct {
		DetectorID string      `json:"detector_id"`
		Data       [][]float64 `json:"data"`
	}
	if err := json.Unmarshal(a[2], &v); err != nil || v.DetectorID != `id"1` || len(v.Data) != 3 || len(v.Data[2]) != 5 {
		t.Fatalf("body %s: %v %+v", a[2], err, v)
	}
	for _, bad := range [][3]int{{0, 1, 1}, {1, 0, 1}, {1, 1, 0}, {MaxRows + 1, 1, 1}, {1, MaxCols + 1, 1}, {MaxRows, MaxCols, 1}} {
		if _, err := PredictBodies("d", bad[0], bad[1], bad[2], 1); !errors.Is(err, ErrTargets) {
			t.Errorf("rows, cols, n %v: %v", bad, err)
		}
	}
}

func TestReadBodies(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  string
	}{
		{`{"a": 1}`, []string{`{"a":1}`}, ""},
		{"{\"a\":1}\n{\"b\": [1, 2]}\n", []string{`{"a":1}`, `{"b":[1,2]}`}, ""},
		{` [ {"a":1}, {"b":2} ] `, []string{`{"a":1}`, `{"b":2}`}, ""},
		{"", nil, "empty input"},
		{"  \n", nil, "empty input"},
		{"[]", nil, "an empty array"},
		{"[1]", nil, "body 1 is not a JSON object"},
		{`"x"`, nil, "body 1 is not a JSON object"},
		{"{\"a\":1}\n{\"a\":", nil, "body 2: the input ends inside a value"},
		{"{\"a\":1}\n\n{a}", nil, "body 2: line 3"},
		{`[{"a":1}] {}`, nil, "text after the array"},
		{`[{"a":1}`, nil, "the array of bodies"},
	} {
		got, err := ReadBodies(strings.NewReader(tt.in), 0)
		if tt.err != "" {
			if !errors.Is(err, ErrTargets) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%q: %q %v", tt.in, got, err)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("%q: body %d %s, want %s", tt.in, i, got[i], tt.want[i])
			}
		}
	}
	if _, err := ReadBodies(strings.NewReader(`{"a":"`+strings.Repeat("x", 100)+`"}`), 50); err == nil || !strings.Contains(err.Error(), "more than 50 bytes") {
		t.Errorf("over the byte bound: %v", err)
	}
}

func TestNewTargets(t *testing.T) {
	for _, u := range []string{"", "ftp://h/x", "http://", "/relative", "http://h:99999999999/%zz"} {
		if _, err := NewTargets("POST", u, [][]byte{[]byte("{}")}); !errors.Is(err, ErrTargets) {
			t.Errorf("URL %q: %v", u, err)
		}
	}
	if _, err := NewTargets("POST", "http://h", nil); !errors.Is(err, ErrTargets) {
		t.Errorf("no bodies: %v", err)
	}
	ts, err := NewTargets("", "http://h:1/api/v1/detection/predict", [][]byte{[]byte("{}"), []byte(`{"a":1}`)})
	if err != nil || ts.Target(3).Method != "POST" || string(ts.Target(3).Body) != `{"a":1}` || ts.Target(4).URL != "http://h:1/api/v1/detection/predict" {
		t.Errorf("%v %+v", err, ts)
	}
	if got := Endpoint("http://h/api/v1/", PredictPath); got != "http://h/api/v1/detection/predict" {
		t.Errorf("Endpoint: %s", got)
	}
}

func TestErrorCodeAndTrainingTime(t *testing.T) {
	for in, want := range map[string]string{
		`{"error":"x","code":"unavailable"}`:         "unavailable",
		`{"code":"Not_Lower"}`:                       "",
		`{"code":"has space"}`:                       "",
		`{"code":"` + strings.Repeat("a", 41) + `"}`: "",
		`{"code":1}`:                                 "",
		`not json`:                                   "",
		``:                                           "",
		`{"code":"a\u0000"}`:                         "",
	} {
		if got := errorCode([]byte(in)); got != want {
			t.Errorf("errorCode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]float64{`{"training_time_ms":12.5}`: 12.5, `{"training_time_ms":-1}`: -1, `{}`: -1, `{"training_time_ms":1e300}`: -1, `[`: -1} {
		got, ok := trainingMillis([]byte(in))
		if (want >= 0) != ok || ok && got != want {
			t.Errorf("trainingMillis(%q) = %g %v", in, got, ok)
		}
	}
}
