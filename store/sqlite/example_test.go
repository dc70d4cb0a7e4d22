package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gonomaly-example")
	defer os.RemoveAll(dir)

	// store.Open(ctx, "sqlite:"+path, ...) does the same through the registry.
	s, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "gonomaly.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	run := &store.BenchmarkRun{SuiteID: "nightly", Kind: store.KindBenchmark, Name: "quick", Document: []byte(`{"version":1}`)}
	if err := s.CreateBenchmarkRun(ctx, run); err != nil {
		log.Fatal(err)
	}
	runs, _ := s.ListBenchmarkRuns(ctx, store.BenchmarkFilter{SuiteID: "nightly"})
	fmt.Println(filepath.Base(s.Path()), len(runs), runs[0].Kind, string(runs[0].Document))
	// Output: gonomaly.db 1 benchmark {"version":1}
}
