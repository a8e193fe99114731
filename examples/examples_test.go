package examples

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/spec"
)

func TestAll(t *testing.T) {
	all := All()
	require.NotEmpty(t, all)
	for _, ex := range all {
		_, err := spec.Parse([]byte(ex.YAML))
		assert.NoError(t, err, ex.Name)
		assert.NotEmpty(t, ex.Description, ex.Name)
	}
}

func TestGet(t *testing.T) {
	ex, ok := Get("slow-sink")
	require.True(t, ok)
	assert.Contains(t, ex.Description, "sink")
	for _, bad := range []string{"", "../go", "slow-sink.yaml", "nope"} {
		_, ok := Get(bad)
		assert.False(t, ok, bad)
	}
}
