//go:build !race

package bench_test

// raceEnabled reports a race-instrumented build (see race_test.go).
const raceEnabled = false
