package monitor

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzLoadThresholds reads arbitrary bytes as a thresholds file, YAML or JSON: LoadThresholds
// returns an error naming the file or thresholds that Validate accepts, in bounded time, and
// never panics. The seeds (testdata/fuzz/FuzzLoadThresholds) hold real files and hostile ones:
// alias bombs, deep nesting, huge and non-finite numbers, duplicate keys, durations out of
// range, operation names with NUL.
func FuzzLoadThresholds(f *testing.F) {
	for _, name := range []string{"thresholds.yaml", "thresholds.json", "thresholds_nan.yaml", "thresholds_wrong_type.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(name, ".json"))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := "t.yaml"
		if asJSON {
			name = "t.json"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		th, err := LoadThresholds(path)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("LoadThresholds took %v on %d bytes", took, len(data))
		}
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			if !reflect.DeepEqual(th, Thresholds{}) {
				t.Fatalf("error %v with thresholds %+v", err, th)
			}
			return
		}
		if err := th.Validate(); err != nil {
			t.Fatalf("LoadThresholds accepted %q, Validate says %v", data, err)
		}
		// What it accepts judges any operation, with conditions JSON and the store can hold.
		ops := []OpSummary{{Name: "op", Count: 30, Errors: 3, ErrorRate: 0.1, PerSecond: 1, P99: time.Second, Window: time.Minute}}
		for name := range th.Operations {
			ops = append(ops, OpSummary{Name: name, Count: 30, ErrorRate: 1, Errors: 30, PerSecond: 0.5, P99: time.Hour, Window: time.Minute})
		}
		for _, c := range th.Check(time.Now(), ops, Resources{Time: time.Now(), RSS: 1 << 40, CPUPercent: 1e6}) {
			if c.Key == "" || c.Title == "" || !isFinite(c.Value) || !isFinite(c.Threshold) {
				t.Fatalf("condition %+v from thresholds %+v", c, th)
			}
		}
	})
}

// The edges the fuzzer's invariants let pass: a number of seconds just past what a duration
// holds is out of range (it wrapped to a negative duration, called negative), an error
// quotes at most 40 bytes of a bad duration, JSON with anything after its value is refused,
// and a file that is not a regular file (a FIFO, a device) is refused at once rather than
// read.
func TestLoadThresholdsEdges(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, content, want string
	}{
		{"edge.yaml", "max_execution_time: 9223372036.854775807\n", "out of range"},
		{"edge.json", `{"warning_execution_time": -9223372036.854775808}`, "out of range"},
		{"long.yaml", `warning_execution_time: "` + strings.Repeat("9", 5000) + `s"` + "\n", "want \"60s\""},
		{"long.json", `{"warning_execution_time": "` + strings.Repeat("9", 5000) + `s"}`, "want \"60s\""},
		{"long-number.yaml", "max_execution_time: 10000000000." + strings.Repeat("0", 5000) + "\n", "out of range"},
		{"trailing.json", `{"max_memory_mb": 8192}]`, "after"},
		{"trailing2.json", `{"max_memory_mb": 8192} }`, "after"},
	} {
		p := write(c.name, c.content)
		_, err := LoadThresholds(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(err.Error()) > len(p)+200 {
			t.Errorf("%s: %.300v; want an error of at most 200 bytes besides the path, saying %q", c.name, err, c.want)
		}
	}
	if th, err := LoadThresholds(write("max.yaml", "max_execution_time: 9223372036.854775\n")); err != nil || th.MaxExecutionTime < 9223372036*time.Second {
		t.Errorf("the largest duration in seconds: %v, %v", th.MaxExecutionTime, err)
	}
	if _, err := LoadThresholds(write("two.json", `{} {}`)); err == nil {
		t.Error("two JSON values accepted")
	}

	dirPath := filepath.Join(dir, "d.yaml")
	if err := os.Mkdir(dirPath, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadThresholds(dirPath); err == nil {
		t.Error("a directory accepted")
	}
	mkfifo, err := exec.LookPath("mkfifo")
	if err != nil {
		t.Skip("no mkfifo: the FIFO case is not tested")
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	if out, err := exec.Command(mkfifo, fifo).CombinedOutput(); err != nil {
		t.Fatalf("mkfifo: %v %s", err, out)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadThresholds(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "regular file") {
			t.Errorf("a FIFO: %v; want an error saying it is not a regular file", err)
		}
	case <-time.After(2 * time.Second):
		// Unblock the open so the goroutine ends, then fail.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("LoadThresholds of a FIFO without a writer blocks (it waits for one forever)")
	}
}
