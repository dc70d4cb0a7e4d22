package optimize_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

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

// A costly function memoized: the second call of a key is answered from the cache.
func ExampleMemoize() {
	calls := 0
	square := func(_ context.Context, n int) (int, error) {
		calls++
		return n * n, nil
	}
	m, err := optimize.Memoize(square, strconv.Itoa, nil, optimize.MemoOptions{TTL: time.Minute, SizeMB: 1})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	a, _ := m.Call(context.Background(), 12)
	b, _ := m.Call(context.Background(), 12)
	fmt.Println(a, b, "calls:", calls)
	// Output: 144 144 calls: 1
}

// Map keeps the input's order whatever goroutine ran each item.
func ExampleMap() {
	words := []string{"anomaly", "detection", "in", "go"}
	lengths, err := optimize.Map(context.Background(), words, func(_ context.Context, w string) (int, error) {
		return len(w), nil
	}, optimize.MapOptions{Workers: 2})
	fmt.Println(lengths, err)
	// Output: [7 9 2 2] <nil>
}

// The first error stops the map and names the item.
func ExampleMap_error() {
	_, err := optimize.Map(context.Background(), []string{"1", "2", "x", "4"}, func(_ context.Context, s string) (int, error) {
		return strconv.Atoi(s)
	}, optimize.MapOptions{Workers: 1})
	fmt.Println(err)
	// Output: optimize: map item 2: strconv.Atoi: parsing "x": invalid syntax
}

// A guard with a limit the process is far below lets callers through at once.
func ExampleMemoryGuard() {
	g, err := optimize.NewMemoryGuard(optimize.GuardOptions{RSSBytes: 1 << 50, FreeOnCross: true})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	fmt.Println(g.Over(), g.Wait(context.Background()))
	// Output: false <nil>
}

// A configuration file's fields over the defaults, turned into a Batcher's options.
func ExampleParseConfig() {
	c, err := optimize.ParseConfig([]byte("batch_size: 64\nbatch_wait: 500us\nmax_workers: 2\n"), optimize.FormatYAML)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", c.BatchOptions())
	_, err = optimize.ParseConfig([]byte("batch_size: 0\n"), optimize.FormatYAML)
	fmt.Println(err)
	// Output:
	// {MaxBatch:64 MaxWait:500µs Workers:2 Queue:0}
	// optimize config: batch_size 0: must be from 1 to 65536
}
