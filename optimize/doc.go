// Package optimize is the optimization engine, the seed's PerformanceOptimizationEngine: tools
// that sit between a caller and its work and make the same work cheaper, each with a benchmark
// of its gain beside it (BENCHMARKS.md, section "optimize"; docs/optimize.md).
//
//   - Memoize caches a function's results by key for a TTL, within a size in MiB, over the
//     cache package (its own in-process cache, or a shared one with Redis as L2 so that every
//     instance of the service shares results). Concurrent calls of one key run the function
//     once; errors are returned and not cached; a caller's cancellation is honoured.
//   - Batcher coalesces concurrent single-item calls into calls of a batch function, so that
//     many small clients get batch throughput (the service's single-row predictions).
//   - WriteBehind saves items in batches off the caller's path, with retries, and never fails
//     a whole batch for one bad item (the service's stored results).
//   - Map runs a function over a slice on a fixed number of goroutines, a chunk of items at a
//     time, in input order; the first error or panic stops the rest and is returned, and a
//     cancelled context stops the scheduling of chunks.
//   - MemoryGuard applies back-pressure while the Go heap or the process's resident set is
//     past a limit: Wait blocks new work until memory is back under it; under the limit it
//     costs a clock read, the reading being cached for a poll interval.
//   - Config is the seed's OptimizationConfig (enable_caching, cache_ttl, cache_size_mb,
//     max_workers, batch_size, batch_wait, chunk_rows, memory_limit_mb), read strictly from
//     YAML or JSON by LoadConfig, and turned into each tool's options. `gonomaly serve
//     --optimize FILE` and `gonomaly detect --optimize FILE` read it.
//
// Every goroutine a tool starts is stopped by the tool (Close, or the return of Map), and a
// panic in a caller's function becomes an error for the callers rather than a crash.
package optimize
