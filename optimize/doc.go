// Package optimize holds the engine's throughput tools that sit between a caller and the work:
// today the micro-batcher, which coalesces many concurrent small requests into one call so that
// many small clients get batch throughput.
package optimize
