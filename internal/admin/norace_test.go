//go:build !race

package admin_test

// raceDetector is set when the tests run with -race.
const raceDetector = false
