package runtime

// phase is what a subtask's loop is doing, for the profiler.
type phase = uint32

const (
	phaseOff      phase = iota // not running: before its loop starts, or after it ended
	phaseLoop                  // between steps: timers, the flush, deciding what to wait for
	phaseInput                 // taking the next input buffer
	phaseRecycle               // giving an input buffer back (credit for the sender)
	phaseCost                  // spending the simulated cost
	phaseOperator              // in the operator (Process, a source's Emit, Finish)
	phaseTimer                 // in the operator's OnTimer
	phaseFlush                 // sending partial buffers

	// phaseEmitting is set, with the phase, while the operator is in
	// Output.Emit: the record is serialized, or waits for a buffer.
	phaseEmitting phase = 1 << 8
)

// Names of the runtime's frames.
const (
	frameLoop      = "mailbox loop"
	frameInput     = "read input"
	frameRecycle   = "recycle input buffer"
	frameCost      = "simulated cost"
	frameProcess   = "process"
	frameTimer     = "timers"
	frameFlush     = "flush output"
	frameSerialize = "serialize output"
	frameIdle      = "wait for input"
	frameNext      = "wait for the next record's time"
	frameSoft      = "wait for output buffer (soft backpressure)"
	frameHard      = "wait for output buffer (hard backpressure)"
)

// stackSample is one sample of a subtask: the frames around the operator
// (outer), those the operator adds (a guest's, delivered later), and those
// under it (inner: serializing its output, a wait for a buffer).
type stackSample struct {
	subtask      int
	outer, inner []Frame
	guest        []Frame
	wantsGuest   bool // the operator was asked for its frames
}

// offCPU reports whether the sample is a wait.
func (s *stackSample) offCPU() bool {
	f := s.inner
	if len(f) == 0 {
		f = s.outer
	}
	return len(f) > 0 && f[len(f)-1].Kind == FrameWait
}

// sampleStack samples what the subtask is doing now, nil if it is not
// running. When the operator is a StackSampler in a call, its frames come
// later, through the sampler's deliver; the sample is complete once
// wantsGuest is false.
func (s *subtask) sampleStack() *stackSample {
	wait := s.clk.current()
	p := s.phase.Load()
	if p == phaseOff {
		return nil
	}
	emitting := p&phaseEmitting != 0
	p &^= phaseEmitting
	smp := &stackSample{subtask: s.index, outer: []Frame{{frameLoop, FrameRuntime}}}
	add := func(name string, kind FrameKind) { smp.outer = append(smp.outer, Frame{name, kind}) }
	switch {
	case wait == waitIdle && s.src != nil:
		add(frameNext, FrameWait)
	case wait == waitIdle:
		add(frameIdle, FrameWait)
	case wait == waitSoft:
		add(frameSoft, FrameWait)
	case p == phaseInput:
		add(frameInput, FrameRuntime)
	case p == phaseRecycle:
		add(frameRecycle, FrameRuntime)
	case p == phaseCost:
		add(frameCost, FrameRuntime)
	case p == phaseFlush:
		add(frameFlush, FrameRuntime)
		if wait == waitHard {
			add(frameHard, FrameWait)
		}
	case p == phaseOperator || p == phaseTimer:
		if p == phaseTimer {
			add(frameTimer, FrameRuntime)
		} else if s.src == nil {
			add(frameProcess, FrameRuntime)
		}
		add(s.task.spec.Operator, FrameOperator)
		if emitting || wait == waitHard {
			smp.inner = append(smp.inner, Frame{frameSerialize, FrameRuntime})
		}
		if wait == waitHard {
			smp.inner = append(smp.inner, Frame{frameHard, FrameWait})
		}
		smp.wantsGuest = true
	}
	return smp
}
