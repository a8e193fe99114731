package host

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
)

// Keyed state in checkpoints (runtime.Stateful) and in the UI
// (runtime.StateViewer), through the bundled count operator, which keeps
// the count of record key K under "K/count".

// A snapshot is the state as of when it was taken: later puts, to its keys
// or new ones, do not change it.
func TestOperator_SnapshotState(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "count"), "{}")
	s, err := op.SnapshotState()
	require.NoError(t, err)
	assert.Empty(t, s.Keyed, "no state yet")
	assert.Nil(t, s.Operator)

	require.NoError(t, op.Process(batch("a=x", "b=x", "a=x"), &recorder{}))
	s, err = op.SnapshotState()
	require.NoError(t, err)
	want := map[string][]byte{"a/count": []byte("2"), "b/count": []byte("1")}
	assert.Equal(t, want, s.Keyed)
	assert.Nil(t, s.Operator)

	require.NoError(t, op.Process(batch("a=x", "c=x", "b=x"), &recorder{}))
	assert.Equal(t, want, s.Keyed, "the snapshot is unchanged")
	assert.Equal(t, map[string][]byte{"a/count": []byte("3"), "b/count": []byte("2"), "c/count": []byte("1")}, op.state)
}

// A restored count goes on from the checkpoint's: 41 for k, then 42. The
// runtime's map and values are not modified by later puts, and the state
// is counted as state_put counts it.
func TestOperator_RestoreState(t *testing.T) {
	h := cachedHost(t, sandbox())
	m := compileBundled(t, h, "count")

	// The accounting of the same state made by state_put.
	orig := newTestOperator(t, m, "{}")
	require.NoError(t, orig.Process(batch("k=x", "k=x", "other=x"), &recorder{}))
	s, err := orig.SnapshotState()
	require.NoError(t, err)
	op := newTestOperator(t, m, "{}")
	require.NoError(t, op.RestoreState(s))
	assert.Equal(t, orig.stateBytes, op.stateBytes)
	assert.Equal(t, orig.state, op.state)

	keyed := map[string][]byte{"k/count": []byte("41"), "j/count": []byte("7")}
	given := map[string][]byte{"k/count": []byte("41"), "j/count": []byte("7")}
	op = newTestOperator(t, m, "{}")
	require.NoError(t, op.RestoreState(runtime.OperatorState{Keyed: keyed}))
	out := &recorder{}
	require.NoError(t, op.Process(batch("k=x", "new=x", "k=x", "j=x"), out))
	assert.Equal(t, []string{"k=42", "new=1", "k=43", "j=8"}, out.recs)
	assert.Equal(t, given, keyed, "the runtime's map and values are as it gave them")
	assert.Equal(t, map[string][]byte{"k/count": []byte("43"), "j/count": []byte("8"), "new/count": []byte("1")}, op.state)
	size := 0
	for k, v := range op.state {
		size += len(k) + len(v) + stateEntryCost
	}
	assert.Equal(t, size, op.stateBytes)

	// A nil map is empty state, even over state there was.
	require.NoError(t, op.RestoreState(runtime.OperatorState{}))
	assert.Empty(t, op.state)
	assert.Zero(t, op.stateBytes)
	out = &recorder{}
	require.NoError(t, op.Process(batch("k=x"), out))
	assert.Equal(t, []string{"k=1"}, out.recs)
}

// State that would not fit in the subtask's limits fails the restore,
// saying so; the state is then left as it was. Up to the limit it fits.
func TestOperator_RestoreState_OverLimit(t *testing.T) {
	const limit = 1000
	h := cachedHost(t, sandbox().WithStateLimit(limit))
	m := compileBundled(t, h, "count")
	op := newTestOperator(t, m, "{}")
	require.NoError(t, op.Process(batch("a=x"), &recorder{}))

	// 9 entries of 10 + 1 + 96 bytes: 963, and a tenth takes it to 1070.
	keyed := map[string][]byte{}
	for i := range 10 {
		keyed[fmt.Sprintf("key%d/count", i)] = []byte("1")
	}
	err := op.RestoreState(runtime.OperatorState{Keyed: keyed})
	assert.EqualError(t, err, `operator "wasm:count": restoring a checkpoint: the subtask's keyed state of 10 entries takes 1070 bytes (keys, values and 96 bytes per entry), more than the state limit of 1000 bytes per subtask (a rescale to fewer subtasks merges the state of several into each: rescale to more)`)
	assert.Equal(t, map[string][]byte{"a/count": []byte("1")}, op.state, "unchanged")

	delete(keyed, "key9/count")
	require.NoError(t, op.RestoreState(runtime.OperatorState{Keyed: keyed}))
	assert.Equal(t, 963, op.stateBytes)
	out := &recorder{}
	require.NoError(t, op.Process(batch("key0=x"), out), "a put within the limit")
	assert.Equal(t, []string{"key0=2"}, out.recs)
	err = op.Process(batch("key9=x"), out)
	assert.ErrorContains(t, err, `state "count": put 1 bytes for key "key9": keyed state limit of the subtask reached`, "a put past it")

	// The entries are capped whatever their bytes.
	h = cachedHost(t, sandbox().WithStateLimit(1<<30))
	op = newTestOperator(t, compileBundled(t, h, "count"), "{}")
	keyed = make(map[string][]byte, maxStateEntries+1)
	for i := range maxStateEntries + 1 {
		keyed[fmt.Sprint(i)] = nil
	}
	err = op.RestoreState(runtime.OperatorState{Keyed: keyed})
	assert.EqualError(t, err, `operator "wasm:count": restoring a checkpoint: the subtask's keyed state has 100001 entries, more than the limit of 100000 entries per subtask (a rescale to fewer subtasks merges the state of several into each: rescale to more)`)
	delete(keyed, "0")
	require.NoError(t, op.RestoreState(runtime.OperatorState{Keyed: keyed}))
	assert.Len(t, op.state, maxStateEntries)
}

// ViewState counts every key and its bytes and gives the first max entries
// in key order, copied.
func TestOperator_ViewState(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "count"), "{}")
	v := op.ViewState(10)
	assert.Equal(t, runtime.StateView{}, v, "no state")

	keyed := map[string][]byte{"b/count": []byte("22"), "a/count": []byte("1"), "c": []byte("333"), "": []byte("e"), "empty": {}}
	require.NoError(t, op.RestoreState(runtime.OperatorState{Keyed: keyed}))
	const bytes = 7 + 2 + 7 + 1 + 1 + 3 + 0 + 1 + 5 + 0
	entry := func(k, v string) runtime.StateEntry { return runtime.StateEntry{Key: []byte(k), Value: []byte(v)} }
	all := []runtime.StateEntry{entry("", "e"), entry("a/count", "1"), entry("b/count", "22"), entry("c", "333"), entry("empty", "")}
	for max, want := range map[int][]runtime.StateEntry{
		-1: nil, 0: nil, 1: all[:1], 2: all[:2], 4: all[:4], 5: all, 6: all, 1 << 40: all,
	} {
		v := op.ViewState(max)
		assert.Equal(t, 5, v.Keys, "max %d", max)
		assert.Equal(t, int64(bytes), v.Bytes, "max %d", max)
		assert.Equal(t, want, v.Entries, "max %d", max)
	}
	v = op.ViewState(5)
	assert.NotNil(t, v.Entries[4].Value, "an empty value is there, not nil")

	// Copies: changing them changes nothing of the state.
	v.Entries[1].Key[0], v.Entries[1].Value[0] = 'x', 'x'
	assert.Equal(t, all, op.ViewState(5).Entries)
	assert.Equal(t, []byte("1"), keyed["a/count"])

	// Puts show at the next view.
	require.NoError(t, op.Process(batch("a=x", "0=x"), &recorder{}))
	v = op.ViewState(2)
	assert.Equal(t, 6, v.Keys)
	assert.Equal(t, int64(bytes+len("0/count1")), v.Bytes)
	assert.Equal(t, []runtime.StateEntry{entry("", "e"), entry("0/count", "1")}, v.Entries)
	assert.Equal(t, entry("a/count", "2"), op.ViewState(3).Entries[2])
}

// The heap finds the same first entries as sorting all keys, for any max
// and any order of the map.
func TestOperator_ViewState_Smallest(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "count"), "{}")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 100, 1000} {
		keyed := map[string][]byte{}
		for len(keyed) < n {
			keyed[fmt.Sprintf("%x/count", rng.Uint64N(uint64(n)*10))] = fmt.Appendf(nil, "%d", rng.IntN(1000))
		}
		require.NoError(t, op.RestoreState(runtime.OperatorState{Keyed: keyed}))
		keys := slices.Sorted(maps.Keys(keyed))
		for _, max := range []int{1, 2, 3, 7, n / 2, n - 1, n, n + 1} {
			if max < 1 {
				continue
			}
			v := op.ViewState(max)
			require.Equal(t, n, v.Keys)
			require.Len(t, v.Entries, min(max, n), "n %d max %d", n, max)
			for i, e := range v.Entries {
				require.Equal(t, keys[i], string(e.Key), "n %d max %d entry %d", n, max, i)
				require.Equal(t, keyed[keys[i]], e.Value)
			}
		}
	}
}

// ViewState from other goroutines while the subtask's goroutine puts, and
// snapshots between its calls: run with -race. A view is of one moment:
// each of its entries is one the count had, and it sees counts grow.
func TestOperator_ViewState_Concurrent(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "count"), "{}")
	recs := make([]string, 500)
	for i := range recs {
		recs[i] = fmt.Sprintf("k%03d=x", i%50)
	}
	in := batch(recs...)

	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				v := op.ViewState(3)
				if v.Keys == 0 {
					continue
				}
				if !assert.Len(t, v.Entries, min(3, v.Keys)) || !assert.Equal(t, "k000/count", string(v.Entries[0].Key)) {
					return
				}
				n := 0
				_, err := fmt.Sscan(string(v.Entries[0].Value), &n)
				if !assert.NoError(t, err) || !assert.GreaterOrEqual(t, n, last, "counts grow") {
					return
				}
				last = n
			}
		})
	}
	var snaps []runtime.OperatorState
	for range 40 {
		require.NoError(t, op.Process(in, &recorder{}))
		s, err := op.SnapshotState()
		require.NoError(t, err)
		snaps = append(snaps, s)
	}
	close(done)
	wg.Wait()
	for i, s := range snaps {
		assert.Len(t, s.Keyed, 50)
		assert.Equal(t, fmt.Sprint((i+1)*10), string(s.Keyed["k000/count"]), "snapshot %d", i)
	}
	v := op.ViewState(1)
	assert.Equal(t, 50, v.Keys)
	assert.Equal(t, []runtime.StateEntry{{Key: []byte("k000/count"), Value: []byte("400")}}, v.Entries)
}
