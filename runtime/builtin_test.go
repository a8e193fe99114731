package runtime

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a SourceOutput that keeps what is emitted and is available
// for the next room records.
type recorder struct {
	room   int
	ts     []int64
	keys   []string
	values []string
}

func (r *recorder) Available() bool { return r.room > 0 }

func (r *recorder) Emit(ts int64, key, value []byte) error {
	r.room--
	r.ts = append(r.ts, ts)
	r.keys = append(r.keys, string(key))
	r.values = append(r.values, string(value))
	return nil
}

func newTestGenerator(t *testing.T, config map[string]any, subtask int) *generator {
	t.Helper()
	gc, err := parseGeneratorConfig(config)
	require.NoError(t, err)
	return newGenerator(gc, subtask)
}

func TestGenerator_Emit_keysAndValues(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	// keys: 5000 is beyond the table of formatted keys: both must give what
	// strconv gives, from the same random sequence as ever.
	for _, keys := range []int{1, 100, maxKeyTable, maxKeyTable + 1, 5000} {
		t.Run(fmt.Sprintf("keys %d", keys), func(t *testing.T) {
			g := newTestGenerator(t, map[string]any{"keys": keys, "value-size": 30}, 2)
			out := &recorder{room: 3000}
			_, done, err := g.Emit(now, out)
			require.NoError(t, err)
			assert.False(t, done)
			require.Len(t, out.keys, emitBatch, "at most emitBatch records a call")
			rng := rand.New(rand.NewPCG(3, 0x5eed))
			for i, k := range out.keys {
				assert.Equal(t, "key-"+strconv.Itoa(rng.IntN(keys)), k)
				assert.Equal(t, "abcdefghijklmnopqrstuvwxyzabcd", out.values[i])
				assert.Equal(t, now.UnixMilli(), out.ts[i])
			}
		})
	}
}

func TestGenerator_Emit_skew(t *testing.T) {
	g := newTestGenerator(t, map[string]any{"keys": 10, "skew": 2}, 0)
	out := &recorder{room: 3 * emitBatch}
	for range 3 {
		_, _, err := g.Emit(time.Now(), out)
		require.NoError(t, err)
	}
	count := map[string]int{}
	for _, k := range out.keys {
		count[k]++
	}
	// Zipf with s = 2 over 10 keys: key-0 takes 1/H(10,2) = 65% of the records, key-9 1/100 of that.
	assert.InDelta(t, 0.65, float64(count["key-0"])/float64(len(out.keys)), 0.05)
	assert.Greater(t, count["key-1"], count["key-9"])
}

func TestGenerator_Emit_countAndAvailability(t *testing.T) {
	g := newTestGenerator(t, map[string]any{"count": 2500}, 0)
	out := &recorder{room: 100}
	now := time.Now()
	next, done, err := g.Emit(now, out)
	require.NoError(t, err)
	assert.False(t, done)
	assert.Equal(t, now, next, "called again at once when the output is available again")
	assert.Len(t, out.keys, 100, "no record emitted while the output is unavailable")

	out.room = 1 << 20
	var calls int
	for !done {
		_, done, err = g.Emit(now, out)
		require.NoError(t, err)
		calls++
	}
	assert.Len(t, out.keys, 2500, "exactly count records")
	assert.Equal(t, 3, calls, "1024, 1024, then the last 352 and done")
	_, done, err = g.Emit(now, out)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Len(t, out.keys, 2500)
}

func TestGenerator_Emit_rate(t *testing.T) {
	g := newTestGenerator(t, map[string]any{"rate": 100}, 0)
	out := &recorder{room: 1 << 20}
	start := time.Now()
	next, _, err := g.Emit(start, out)
	require.NoError(t, err)
	assert.Len(t, out.keys, 1, "one record due at the start")
	assert.Equal(t, start.Add(10*time.Millisecond), next)
	next, _, err = g.Emit(start.Add(55*time.Millisecond), out)
	require.NoError(t, err)
	assert.Len(t, out.keys, 6, "the records due at 10, 20, ... 50 ms")
	assert.Equal(t, start.Add(60*time.Millisecond), next)
	_, _, err = g.Emit(start.Add(time.Second), out)
	require.NoError(t, err)
	assert.Len(t, out.keys, 7, "held back longer than maxLag: no burst to catch up")
}
