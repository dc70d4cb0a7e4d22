package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// The environment of a child process that TestConcurrentProcessOpen starts from this test
// binary: the database file to open and the Unix time in nanoseconds to open it at.
const (
	envChildDB = "GONOMALY_SQLITE_TEST_CHILD_DB"
	envChildAt = "GONOMALY_SQLITE_TEST_CHILD_AT"
)

// TestMain makes the test binary a child that opens one database (openChild) when
// envChildDB is set, instead of running the tests.
func TestMain(m *testing.M) {
	if path := os.Getenv(envChildDB); path != "" {
		if err := openChild(path, os.Getenv(envChildAt)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openChild waits until at (so that the children open together), opens the store at path,
// writes a detector and reads it back.
func openChild(path, at string) error {
	ns, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", envChildAt, at, err)
	}
	time.Sleep(time.Until(time.Unix(0, ns)))
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	d := &store.Detector{Name: "child", Algorithm: "knn", Contamination: 0.1}
	if err := s.CreateDetector(ctx, d); err != nil {
		return err
	}
	if _, err := s.GetDetector(ctx, d.ID); err != nil {
		return err
	}
	return s.Close()
}

// TestConcurrentProcessOpen: processes that open one new database file at the same moment
// all succeed (the first migrates it, the others wait for it and find it migrated), and every
// one of them can write.
func TestConcurrentProcessOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 80 processes")
	}
	const procs, rounds = 8, 10
	dir := t.TempDir()
	failed := 0
	for round := range rounds {
		path := filepath.Join(dir, fmt.Sprintf("round%d.db", round))
		at := strconv.FormatInt(time.Now().Add(300*time.Millisecond).UnixNano(), 10)
		var wg sync.WaitGroup
		errs := make([]error, procs)
		for p := range procs {
			wg.Go(func() {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), envChildDB+"="+path, envChildAt+"="+at)
				out, err := cmd.CombinedOutput()
				if err != nil {
					errs[p] = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
				}
			})
		}
		wg.Wait()
		for p, err := range errs {
			if err != nil {
				failed++
				t.Errorf("round %d, process %d: %v", round, p, err)
			}
		}
		if t.Failed() {
			continue
		}
		s, err := sqlite.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.ListDetectors(context.Background(), store.DetectorFilter{})
		s.Close()
		if err != nil || len(ds) != procs {
			t.Errorf("round %d: %d detectors in the file, want %d (%v)", round, len(ds), procs, err)
		}
	}
	t.Logf("%d of %d opens failed", failed, procs*rounds)
}
