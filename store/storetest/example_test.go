package storetest_test

import (
	"path/filepath"
	"testing"

	_ "github.com/gonomaly/gonomaly/store/sqlite"
	"github.com/gonomaly/gonomaly/store/storetest"
)

// A back end's conformance test: a function that makes a fresh, empty database per test, and
// one call to Run (Benchmark takes the same function).
func ExampleRun() {
	fresh := func(t testing.TB) storetest.Target {
		return storetest.Target{URL: "sqlite:" + filepath.Join(t.TempDir(), "test.db")}
	}
	_ = func(t *testing.T) { storetest.Run(t, fresh) } // func TestConformance(t *testing.T)
	_ = func(b *testing.B) { storetest.Benchmark(b, fresh) }
}
