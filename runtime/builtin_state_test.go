package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emitN has g emit n records into out at now, in as many calls as it takes,
// and reports whether g is done.
func emitN(t *testing.T, g *generator, now time.Time, out *recorder, n int) bool {
	t.Helper()
	out.room = n
	for calls := 0; out.room > 0; calls++ {
		require.Less(t, calls, n+2, "the generator emits nothing more")
		_, done, err := g.Emit(now, out)
		require.NoError(t, err)
		if done {
			return true
		}
	}
	return false
}

func TestGenerator_RestoreState_emitsWhatTheOriginalWould(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	const subtask, m = 3, 3000
	for _, config := range []map[string]any{
		{"keys": 100},
		{"keys": 10, "skew": 2}, // keys from Float64, not IntN
		{"keys": maxKeyTable + 1, "value-size": 5},
	} {
		for _, k := range []int{0, 1, 1000, emitBatch, 2500} {
			t.Run(fmt.Sprintf("%v after %d", config, k), func(t *testing.T) {
				orig := newTestGenerator(t, config, subtask)
				emitN(t, orig, now, &recorder{}, k)
				st, err := orig.SnapshotState()
				require.NoError(t, err)
				require.Empty(t, st.Keyed, "a generator has no keyed state")
				saved := bytes.Clone(st.Operator)

				want := &recorder{}
				emitN(t, orig, now, want, m)
				require.Equal(t, saved, st.Operator, "a snapshot does not change afterwards")

				restored := newTestGenerator(t, config, subtask)
				require.NoError(t, restored.RestoreState(st))
				got := &recorder{}
				emitN(t, restored, now, got, m)
				require.Len(t, got.keys, m)
				assert.Equal(t, want.keys, got.keys)
				assert.Equal(t, want.values, got.values)
				assert.Equal(t, want.ts, got.ts)
				assert.Equal(t, orig.total, restored.total)
			})
		}
	}
}

func TestGenerator_RestoreState_bounded(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	config := map[string]any{"count": 2500}
	orig := newTestGenerator(t, config, 1)
	emitN(t, orig, now, &recorder{}, 1000)
	st, err := orig.SnapshotState()
	require.NoError(t, err)
	want := &recorder{}
	require.True(t, emitN(t, orig, now, want, 1<<20))
	require.Len(t, want.keys, 1500)

	restored := newTestGenerator(t, config, 1)
	require.NoError(t, restored.RestoreState(st))
	got := &recorder{}
	assert.True(t, emitN(t, restored, now, got, 1<<20), "done after the records still due")
	assert.Equal(t, want.keys, got.keys, "the 1500 records the original emitted after the snapshot")

	// Restored from a snapshot of a finished generator, it is done at once.
	st, err = restored.SnapshotState()
	require.NoError(t, err)
	done := newTestGenerator(t, config, 1)
	require.NoError(t, done.RestoreState(st))
	out := &recorder{room: 10}
	_, finished, err := done.Emit(now, out)
	require.NoError(t, err)
	assert.True(t, finished)
	assert.Empty(t, out.keys)

	// And with a count lowered below what it has emitted (a config change), too.
	lower := newTestGenerator(t, map[string]any{"count": 500}, 1)
	require.NoError(t, lower.RestoreState(st))
	_, finished, err = lower.Emit(now, out)
	require.NoError(t, err)
	assert.True(t, finished)
	assert.Empty(t, out.keys)
}

func TestGenerator_RestoreState_rateStartsAfresh(t *testing.T) {
	config := map[string]any{"rate": 100}
	start := time.Now()
	orig := newTestGenerator(t, config, 0)
	_, _, err := orig.Emit(start, &recorder{room: 1 << 20})
	require.NoError(t, err)
	_, _, err = orig.Emit(start.Add(50*time.Millisecond), &recorder{room: 1 << 20})
	require.NoError(t, err)
	require.EqualValues(t, 6, orig.total)
	st, err := orig.SnapshotState()
	require.NoError(t, err)

	// Restored an hour later: no burst for the records of the hour.
	restored := newTestGenerator(t, config, 0)
	require.NoError(t, restored.RestoreState(st))
	later := start.Add(time.Hour)
	out := &recorder{room: 1 << 20}
	next, _, err := restored.Emit(later, out)
	require.NoError(t, err)
	assert.Len(t, out.keys, 1, "one record due at the restore")
	assert.Equal(t, later.Add(10*time.Millisecond), next)
	assert.EqualValues(t, 7, restored.total)
}

func TestGenerator_RestoreState_emptyStartsFromScratch(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	fresh, restored := newTestGenerator(t, nil, 2), newTestGenerator(t, nil, 2)
	require.NoError(t, restored.RestoreState(OperatorState{}))
	want, got := &recorder{}, &recorder{}
	emitN(t, fresh, now, want, 100)
	emitN(t, restored, now, got, 100)
	assert.Equal(t, want.keys, got.keys)
}

func TestGenerator_RestoreState_garbage(t *testing.T) {
	g := newTestGenerator(t, nil, 0)
	st, err := g.SnapshotState()
	require.NoError(t, err)
	good := st.Operator
	negative := bytes.Clone(good)
	binary.LittleEndian.PutUint64(negative[1:], 1<<63)
	for name, b := range map[string][]byte{
		"text":             []byte("garbage"),
		"unknown version":  append([]byte{2}, good[1:]...),
		"short":            good[:5],
		"no random source": good[:9],
		"bad random":       append(bytes.Clone(good[:9]), "xyz:0123456789abcdef"...),
		"trailing bytes":   append(bytes.Clone(good), 0),
		"negative count":   negative,
	} {
		t.Run(name, func(t *testing.T) {
			g := newTestGenerator(t, nil, 0)
			err := g.RestoreState(OperatorState{Operator: b})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "generator state does not decode")
		})
	}
}

// subtaskContext is a Context that knows only its subtask.
type subtaskContext struct {
	Context
	subtask int
}

func (c subtaskContext) Subtask() int { return c.subtask }

func TestBuiltins_generatorsAreStateful(t *testing.T) {
	for _, name := range []string{OpGenerator, OpLegacyGenerator} {
		typ, err := Builtins(name)
		require.NoError(t, err)
		p, err := typ(TaskConfig{Config: map[string]any{"count": 10}, BufferSize: 1 << 10})
		require.NoError(t, err)
		src, err := p.NewSource(subtaskContext{subtask: 1})
		require.NoError(t, err)
		assert.Implements(t, (*Stateful)(nil), src, name)
	}
	for _, name := range []string{OpPassthrough, OpDiscard} {
		typ, err := Builtins(name)
		require.NoError(t, err)
		p, err := typ(TaskConfig{BufferSize: 1 << 10})
		require.NoError(t, err)
		proc, err := p.NewProcessor(subtaskContext{})
		require.NoError(t, err)
		_, ok := proc.(Stateful)
		assert.False(t, ok, "%s keeps no state", name)
	}
}
