package host

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"flowlab/runtime"
)

// Keyed state in checkpoints and in the UI.
//
// state_put stores a fresh copy of every value and never modifies a stored
// value afterwards: it replaces it. So a copy of the map that shares its
// values is a snapshot that later puts do not change, and a value read
// under stateMu may be read after it is released.

// SnapshotState implements runtime.Stateful: the keyed state as of now, a
// copy of the map whose values are shared (they are never modified in
// place). An operator without state gives a nil map. There is no
// operator state: timers are the runtime's.
func (op *operator) SnapshotState() (runtime.OperatorState, error) {
	op.stateMu.Lock()
	defer op.stateMu.Unlock()
	if len(op.state) == 0 {
		return runtime.OperatorState{}, nil
	}
	return runtime.OperatorState{Keyed: maps.Clone(op.state)}, nil
}

// RestoreState implements runtime.Stateful: the keyed state becomes the
// checkpoint's, counted against the subtask's limits as state_put counts
// it. The map is copied, since state_put writes into it, but not its
// values: the runtime does not modify what it hands over, and neither does
// the host. A nil map is empty state.
//
// The instance already exists (newOperator made it, to check the config):
// flowlab_init ran before the state was restored.
func (op *operator) RestoreState(s runtime.OperatorState) error {
	cfg := op.mod.host.cfg
	if n := len(s.Keyed); n > maxStateEntries {
		return fmt.Errorf("operator %q: restoring a checkpoint: the subtask's keyed state has %d entries, more than the limit of %d entries per subtask%s",
			op.mod.name, n, maxStateEntries, rescaleHint)
	}
	size := 0
	for k, v := range s.Keyed {
		size += len(k) + len(v) + stateEntryCost
	}
	if size > cfg.stateLimit {
		return fmt.Errorf("operator %q: restoring a checkpoint: the subtask's keyed state of %d entries takes %d bytes (keys, values and %d bytes per entry), more than the state limit of %d bytes per subtask%s",
			op.mod.name, len(s.Keyed), size, stateEntryCost, cfg.stateLimit, rescaleHint)
	}
	// Inserted anew rather than cloned (maps.Clone is 3-4 times faster): a
	// clone keeps the table of the map it copies, which may be much larger
	// than its entries (one deleted from), and which the limit would not
	// count.
	state := make(map[string][]byte, len(s.Keyed))
	maps.Copy(state, s.Keyed)
	op.stateMu.Lock()
	op.state, op.stateBytes = state, size
	op.stateMu.Unlock()
	return nil
}

// rescaleHint ends the errors of a restore that exceeds a limit.
const rescaleHint = " (a rescale to fewer subtasks merges the state of several into each: rescale to more)"

// ViewState implements runtime.StateViewer, from any goroutine: the number
// of keys, their bytes (keys and values, without what the host spends per
// entry) and copies of the first max entries in key order. It finds them
// in one pass over the map with a heap of max entries, O(n log max), under
// the lock that state_put takes, and copies them after. The pass reads
// every key, each in an allocation of its own: for the most entries there
// may be (100000) it holds state_put off for a few milliseconds (see
// BenchmarkOperator_ViewState), about what a snapshot takes; max 0 costs
// nothing.
func (op *operator) ViewState(max int) runtime.StateView {
	op.stateMu.Lock()
	v := runtime.StateView{
		Keys:  len(op.state),
		Bytes: int64(op.stateBytes - len(op.state)*stateEntryCost),
	}
	var first []stateEntry
	switch {
	case max <= 0:
	case max >= len(op.state):
		first = make([]stateEntry, 0, len(op.state))
		for k, val := range op.state {
			first = append(first, stateEntry{k, val})
		}
	default:
		first = smallest(op.state, max)
	}
	op.stateMu.Unlock()

	slices.SortFunc(first, func(a, b stateEntry) int { return strings.Compare(a.key, b.key) })
	if len(first) > 0 {
		v.Entries = make([]runtime.StateEntry, len(first))
	}
	for i, e := range first {
		value := bytes.Clone(e.value)
		if value == nil { // an empty value, not an absent one
			value = []byte{}
		}
		v.Entries[i] = runtime.StateEntry{Key: []byte(e.key), Value: value}
	}
	return v
}

type stateEntry struct {
	key   string
	value []byte
}

// smallest returns the n entries of state with the smallest keys, in no
// particular order, 0 < n < len(state): a max-heap of the smallest keys
// seen so far, whose root is replaced by each smaller key.
func smallest(state map[string][]byte, n int) []stateEntry {
	heap := make([]stateEntry, 0, n)
	for k, v := range state {
		if len(heap) < n {
			heap = append(heap, stateEntry{k, v})
			// Sift up.
			for i := len(heap) - 1; i > 0; {
				parent := (i - 1) / 2
				if heap[parent].key >= heap[i].key {
					break
				}
				heap[parent], heap[i] = heap[i], heap[parent]
				i = parent
			}
			continue
		}
		if k >= heap[0].key {
			continue
		}
		heap[0] = stateEntry{k, v}
		// Sift down.
		for i := 0; ; {
			largest, l, r := i, 2*i+1, 2*i+2
			if l < n && heap[l].key > heap[largest].key {
				largest = l
			}
			if r < n && heap[r].key > heap[largest].key {
				largest = r
			}
			if largest == i {
				break
			}
			heap[i], heap[largest] = heap[largest], heap[i]
			i = largest
		}
	}
	return heap
}

var (
	_ runtime.Stateful    = (*operator)(nil)
	_ runtime.StateViewer = (*operator)(nil)
)
