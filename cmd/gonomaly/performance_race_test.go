//go:build race

package main

// raceEnabled reports a race-instrumented build: it runs several times slower and its child
// processes carry the detector's shadow memory, so timing tests shrink and memory-budget tests
// skip.
const raceEnabled = true
