//go:build !race

package report_test

// raceEnabled reports a race-instrumented build (see race_test.go).
const raceEnabled = false
