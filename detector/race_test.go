//go:build race

package detector

// raceEnabled: the race detector slows the fits several times, so timings mean nothing.
const raceEnabled = true
