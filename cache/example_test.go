package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/cache"
)

// A cache without Redis: GetOrLoad calls the loader once, later calls hit L1, and invalidating
// the detector's tag drops its entries (with Options.RedisURL set, on every instance).
func Example() {
	ctx := context.Background()
	c, err := cache.New(ctx, cache.Options{MaxBytes: 32 << 20})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	score := func(model string) cache.Loader {
		return func(context.Context) ([]byte, error) {
			fmt.Println("scoring with", model)
			return []byte(`{"scores":[0.42]}`), nil
		}
	}
	for _, model := range []string{"model v1", "model v1"} {
		v, _ := c.GetOrLoad(ctx, "predict:42:hash", time.Minute, score(model), "detector:42")
		fmt.Println(string(v))
	}
	c.InvalidateTag(ctx, "detector:42") // detector 42 was retrained
	v, _ := c.GetOrLoad(ctx, "predict:42:hash", time.Minute, score("model v2"), "detector:42")
	fmt.Println(string(v))

	s := c.Stats()
	fmt.Printf("L1 hits %d, loads %d, health %s\n", s.L1Hits, s.Loads, c.Health().Status)
	// Output:
	// scoring with model v1
	// {"scores":[0.42]}
	// {"scores":[0.42]}
	// scoring with model v2
	// {"scores":[0.42]}
	// L1 hits 1, loads 2, health ok
}
