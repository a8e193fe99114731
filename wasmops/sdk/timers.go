package sdk

import (
	"container/heap"
	"slices"
	"unsafe"
)

// timerService holds the keyed processing-time timers of a keyed process
// function. The host knows only times: the service registers each distinct
// time once and, when it fires, hands back the keys that set it.
type timerService struct {
	byTS  map[int64]map[string]struct{}
	times int64Heap // the times in byTS, earliest first
	keys  []string  // scratch for pop
}

// set records a timer for key at ts. It reports whether ts is new to the
// service, that is, whether the host must be asked for a timer at ts.
func (s *timerService) set(key []byte, ts int64) bool {
	if s.byTS == nil {
		s.byTS = map[int64]map[string]struct{}{}
	}
	keys, ok := s.byTS[ts]
	if !ok {
		keys = map[string]struct{}{}
		s.byTS[ts] = keys
		heap.Push(&s.times, ts)
	}
	if _, dup := keys[string(key)]; !dup {
		keys[string(key)] = struct{}{}
	}
	return !ok
}

// pop removes the earliest time at or before now and returns it with its
// keys, sorted; false if there is none. The keys are valid until the next pop.
func (s *timerService) pop(now int64) (int64, []string, bool) {
	if len(s.times) == 0 || s.times[0] > now {
		return 0, nil, false
	}
	ts := heap.Pop(&s.times).(int64)
	s.keys = s.keys[:0]
	for k := range s.byTS[ts] {
		s.keys = append(s.keys, k)
	}
	delete(s.byTS, ts)
	slices.Sort(s.keys)
	return ts, s.keys, true
}

// pending is the number of (key, time) timers set and not yet fired.
func (s *timerService) pending() int {
	n := 0
	for _, keys := range s.byTS {
		n += len(keys)
	}
	return n
}

type int64Heap []int64

func (h int64Heap) Len() int           { return len(h) }
func (h int64Heap) Less(i, j int) bool { return h[i] < h[j] }
func (h int64Heap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *int64Heap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *int64Heap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// stringBytes returns the bytes of s without copying; they must not be modified.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
