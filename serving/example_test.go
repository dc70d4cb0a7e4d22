package serving_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// A detector stored, fitted through the Service, then served: Live finds the current version
// and scores with it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "serving-example")
	defer os.RemoveAll(dir)
	st, _ := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "s.db"), store.Options{})
	defer st.Close()
	c, _ := cache.New(ctx, cache.Options{})
	defer c.Close()
	s := serving.New(st, c, serving.Options{})
	defer s.Close()

	d := &store.Detector{Name: "demo", Algorithm: "hbos", Contamination: 0.1}
	_ = st.CreateDetector(ctx, d)
	m, _ := d.NewModel()
	X, _ := dataset.FromRows([][]float64{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0.5, 0.5}, {0.4, 0.6}, {0.6, 0.4}, {9, 9}})
	f, err := s.Fit(ctx, d, m, X)
	if err != nil {
		fmt.Println(err)
		return
	}
	l, _ := s.Live(ctx, d.ID)
	Q, _ := dataset.FromRows([][]float64{{0.5, 0.5}, {9, 9}})
	scores, _ := l.Score(ctx, Q)
	fmt.Println("serving version", l.Version == f.Version)
	fmt.Println("far row more anomalous:", scores[1] > scores[0])
	// Output:
	// serving version true
	// far row more anomalous: true
}
