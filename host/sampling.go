package host

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"flowlab/host/internal/instrument"
	"flowlab/runtime"
)

// Stack samples of a guest (runtime.StackSampler). wazero shows a guest's
// call stack only to a function listener, and a listener on every function
// would cost every call. The instrumenter adds one function,
// instrument.SampledExport, which the guest calls at its next check (a
// function entry or loop iteration) or right after its next host call once
// the host has set the instance's sample global; that one function has a
// listener, which reads the stack. So a guest pays nothing while no one
// samples it, and a sample costs one stack walk. The deadline asks the same
// way, to read the CPU time of the guest's thread on that thread
// (deadline.go).

// sampling is an operator's pending stack samples, across its instances.
type sampling struct {
	on      atomic.Bool
	live    atomic.Pointer[instance] // the instance in a call, if any
	mu      sync.Mutex
	pending []stackRequest
}

type stackRequest struct {
	deliver  func([]runtime.Frame)
	hostCall int32 // the host function the guest was in: 1 + its index in importNames, or 0
}

// Sampling implements runtime.StackSampler. While on, host functions note
// which of them the guest is in.
func (op *operator) Sampling(on bool) {
	op.sampling.on.Store(on)
	if !on {
		op.sampling.flush(nil)
	}
}

// SampleStack implements runtime.StackSampler.
func (op *operator) SampleStack(deliver func([]runtime.Frame)) {
	s := &op.sampling
	s.mu.Lock()
	in := s.live.Load()
	if in == nil {
		s.mu.Unlock()
		deliver(nil)
		return
	}
	s.pending = append(s.pending, stackRequest{deliver, in.hostCall.Load()})
	s.mu.Unlock()
	in.askCheckIn()
}

// askCheckIn has the guest call the sample function, and with it the
// listener, at its next check or right after its host call. It checks the
// sample global when its countdown next reaches zero: that is made the
// next check. (A race with the guest's own decrement only delays it.) Both
// a stack sample and the deadline ask, from their own goroutines.
func (in *instance) askCheckIn() {
	s := &in.op.sampling
	s.mu.Lock()
	defer s.mu.Unlock()
	in.sample.Set(1)
	in.tick.Set(1)
}

// waiting reports whether a stack sample is requested.
func (s *sampling) waiting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0
}

// callEnded is called after every call into the guest: a sample still
// pending is answered without frames.
func (s *sampling) callEnded() {
	s.live.Store(nil)
	if s.on.Load() {
		s.flush(nil)
	}
}

// flush answers every pending request with the guest's frames.
func (s *sampling) flush(frames []runtime.Frame) {
	s.mu.Lock()
	reqs := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, r := range reqs {
		f := frames
		if r.hostCall > 0 && len(frames) > 0 {
			f = append(slices.Clip(frames), runtime.Frame{Name: importModule + "." + importNames[r.hostCall-1], Kind: runtime.FrameHost})
		}
		r.deliver(f)
	}
}

// sampledListeners puts a listener on the instrumenter's sample function
// only.
type sampledListeners struct{}

func (sampledListeners) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if slices.Contains(def.ExportNames(), instrument.SampledExport) {
		return sampledListener{}
	}
	return nil
}

// sampledListener answers the deadline and reads the guest's stack when it
// calls the sample function.
type sampledListener struct{}

func (sampledListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, it experimental.StackIterator) {
	in := instanceOf(ctx)
	in.dl.checkedIn()
	if in.op.sampling.waiting() {
		in.op.sampling.flush(guestFrames(it))
	}
}

func (sampledListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

func (sampledListener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

// maxGuestFrames is the most frames of a guest a sample shows, its
// innermost ones: wazero's stack iterator stops at 30 return addresses
// (internal/wasmdebug.MaxFrames), and the host's call into the guest and
// the sample function take two. (runtime.MaxStackDepth, Flink's 100, is
// the cap for any operator.)
const maxGuestFrames = min(28, runtime.MaxStackDepth)

// guestFrames returns the guest's frames under the sample function,
// outermost first: the innermost maxGuestFrames of them. A function
// without a name in the module's name section is func[N].
func guestFrames(it experimental.StackIterator) []runtime.Frame {
	var frames []runtime.Frame
	it.Next() // the sample function itself
	for len(frames) < maxGuestFrames && it.Next() {
		def := it.Function().Definition()
		name := def.Name()
		if name == "" {
			name = fmt.Sprintf("func[%d]", def.Index())
		}
		frames = append(frames, runtime.Frame{Name: name, Kind: runtime.FrameGuest})
	}
	slices.Reverse(frames)
	return frames
}
