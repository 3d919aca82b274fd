//go:build !race

package api_test

// raceDetector: the race detector is off (race_on_test.go).
const raceDetector = false
