//go:build race

package heapview

// raceEnabled says the race detector is on: tests that run many
// operations run fewer.
const raceEnabled = true
