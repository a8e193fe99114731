//go:build race

package abitest_test

const race = true
