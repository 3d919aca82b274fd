//go:build race

package api_test

// raceDetector: the race detector is on. Its shadow memory is five to ten
// times the program's (Go's race detector documentation), so a test that
// bounds the process's resident set reports it instead of asserting it.
const raceDetector = true
