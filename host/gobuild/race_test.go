//go:build race

package gobuild

// raceEnabled: the race detector slows wazero's compiler about tenfold.
const raceEnabled = true
