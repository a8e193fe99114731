//go:build race

package abitest

const raceEnabled = true
