package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBatch_LatestTS(t *testing.T) {
	assert.Equal(t, int64(0), NewBatch().LatestTS())
	b := NewBatch(Record{TS: 5}, Record{TS: 9, Key: []byte("k")}, Record{TS: 7, Value: []byte("v")})
	assert.Equal(t, int64(9), b.LatestTS())
}
