//go:build !race

package main

// raceEnabled reports a race-instrumented build (see performance_race_test.go).
const raceEnabled = false
