package optimize_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/gonomaly/gonomaly/optimize"
)

// Many goroutines each ask for one item; the batcher hands the function whole batches.
func ExampleBatcher() {
	double := func(_ context.Context, items []float64, out []float64) error {
		for i, v := range items {
			out[i] = 2 * v
		}
		return nil
	}
	b := optimize.NewBatcher(double, optimize.BatchOptions{MaxBatch: 256})
	defer b.Close()

	results := make([]float64, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = b.Do(context.Background(), float64(i))
		}()
	}
	wg.Wait()
	fmt.Println(results)
	// Output: [0 2 4 6]
}
