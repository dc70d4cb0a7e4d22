//go:build race

package report_test

// raceEnabled reports a race-instrumented build, several times slower: the timing bound of
// TestWeekReport is not checked there.
const raceEnabled = true
