package runtime

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"flowlab/runtime/internal/network"
)

// Names of the built-in operators.
const (
	OpGenerator       = "generator"
	OpLegacyGenerator = "legacy-generator"
	OpPassthrough     = "passthrough"
	OpDiscard         = "discard"
)

// Builtins resolves the built-in operators.
func Builtins(name string) (OperatorType, error) {
	switch name {
	case OpGenerator:
		return generatorType(false), nil
	case OpLegacyGenerator:
		return generatorType(true), nil
	case OpPassthrough:
		return processorType(func(Context) (Processor, error) { return passthrough{}, nil }), nil
	case OpDiscard:
		return processorType(func(Context) (Processor, error) { return discard{}, nil }), nil
	}
	return nil, fmt.Errorf("unknown operator %q (built-in: %s, %s, %s, %s)", name, OpGenerator, OpLegacyGenerator, OpPassthrough, OpDiscard)
}

// processorType is the type of an operator without config.
func processorType(newOp func(Context) (Processor, error)) OperatorType {
	return func(tc TaskConfig) (Prepared, error) {
		if _, err := newConfig(tc.Config); err != nil {
			return Prepared{}, err
		}
		return Prepared{NewProcessor: newOp}, nil
	}
}

type passthrough struct{}

func (passthrough) Process(in Batch, out Output) error {
	if s, ok := out.(*subtask); ok { // in came from its gate: checked already
		return s.emitChecked(in)
	}
	if bo, ok := out.(BatchOutput); ok {
		_, err := bo.EmitBatch(in.Bytes())
		return err
	}
	return in.Each(func(r Record) error { return out.Emit(r.TS, r.Key, r.Value) })
}

type discard struct{}

func (discard) Process(Batch, Output) error { return nil }

// Generator limits.
const (
	maxKeys       = 1_000_000
	maxSkewedKeys = 100_000 // skewed keys need a table of this many floats
	maxRate       = 100_000_000
	emitBatch     = 1024 // records per Source.Emit call at most
	maxLag        = 100 * time.Millisecond
	maxKeyTable   = 4096 // keys up to this many are formatted once, in a table of at most 48 KiB
)

// generatorConfig is the config of generator and legacy-generator.
type generatorConfig struct {
	rate      float64 // records per second per subtask, 0 for as fast as possible
	count     int64   // records per subtask, 0 for unbounded
	keys      int
	valueSize int
	cdf       []float64 // cumulative key weights when skewed
	// The keys formatted once, key k being names[ends[k-1]:ends[k]] (from 0
	// for k = 0), when there are at most maxKeyTable; shared by the subtasks.
	names []byte
	ends  []uint32
}

func generatorType(legacy bool) OperatorType {
	return func(tc TaskConfig) (Prepared, error) {
		gc, err := parseGeneratorConfig(tc.Config)
		if err != nil {
			return Prepared{}, err
		}
		if n := network.HeaderSize + len("key-") + len(strconv.Itoa(gc.keys-1)) + gc.valueSize; n > tc.BufferSize {
			return Prepared{}, &ConfigError{Field: "value-size", Msg: fmt.Sprintf(
				"records of %d bytes (value %d, key and header %d) do not fit in network.buffer-size %d", n, gc.valueSize, n-gc.valueSize, tc.BufferSize)}
		}
		return Prepared{Legacy: legacy, State: generatorStateMax, NewSource: func(ctx Context) (Source, error) {
			return newGenerator(gc, ctx.Subtask()), nil
		}}, nil
	}
}

func parseGeneratorConfig(m map[string]any) (*generatorConfig, error) {
	c, err := newConfig(m, "rate", "count", "keys", "skew", "value-size")
	if err != nil {
		return nil, err
	}
	gc := &generatorConfig{}
	if gc.rate, err = c.number("rate", 0, 0, maxRate); err != nil {
		return nil, err
	}
	if gc.count, err = c.integer("count", 0, 0, math.MaxInt64>>1); err != nil {
		return nil, err
	}
	keys, err := c.integer("keys", 100, 1, maxKeys)
	if err != nil {
		return nil, err
	}
	gc.keys = int(keys)
	skew, err := c.number("skew", 0, 0, 10)
	if err != nil {
		return nil, err
	}
	size, err := c.integer("value-size", 16, 0, 1<<20)
	if err != nil {
		return nil, err
	}
	gc.valueSize = int(size)
	if skew > 0 {
		if gc.keys > maxSkewedKeys {
			return nil, &ConfigError{Field: "keys", Msg: fmt.Sprintf("at most %d keys with skew > 0, got %d", maxSkewedKeys, gc.keys)}
		}
		gc.cdf = zipfCDF(gc.keys, skew)
	}
	if gc.keys <= maxKeyTable {
		for k := range gc.keys {
			gc.names = appendKey(gc.names, k)
			gc.ends = append(gc.ends, uint32(len(gc.names)))
		}
	}
	return gc, nil
}

// zipfCDF is the cumulative distribution of key i having weight 1/(i+1)^s.
func zipfCDF(n int, s float64) []float64 {
	cdf := make([]float64, n)
	var sum float64
	for i := range cdf {
		sum += 1 / math.Pow(float64(i+1), s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return cdf
}

// generator emits records with keys "key-N" and values of a fixed size, at a
// fixed rate scheduled from its start so that it does not drift.
type generator struct {
	cfg     *generatorConfig
	pcg     *rand.PCG // rng's source, whose state checkpoints hold
	rng     *rand.Rand
	rate    atomic.Uint64 // float64 bits; changed live
	applied float64       // the rate the schedule below is for
	start   time.Time     // schedule origin
	sent    int64         // records since start
	total   int64         // records ever
	key     []byte
	value   []byte
}

func newGenerator(cfg *generatorConfig, subtask int) *generator {
	pcg := rand.NewPCG(uint64(subtask)+1, 0x5eed)
	g := &generator{
		cfg:   cfg,
		pcg:   pcg,
		rng:   rand.New(pcg),
		key:   make([]byte, 0, 16),
		value: make([]byte, cfg.valueSize),
	}
	for i := range g.value {
		g.value[i] = 'a' + byte(i%26)
	}
	g.SetRate(cfg.rate)
	g.applied = -1
	return g
}

// SetRate changes the rate (records per second, 0 for unlimited) from now on.
func (g *generator) SetRate(rate float64) { g.rate.Store(math.Float64bits(rate)) }

// Rate is the rate the generator emits at.
func (g *generator) Rate() float64 { return math.Float64frombits(g.rate.Load()) }

func (g *generator) Emit(now time.Time, out SourceOutput) (time.Time, bool, error) {
	if rate := math.Float64frombits(g.rate.Load()); rate != g.applied {
		g.applied, g.start, g.sent = rate, now, 0
	}
	ts := now.UnixMilli()
	n := emitBatch
	if g.cfg.count > 0 {
		n = int(min(int64(n), g.cfg.count-g.total))
	}
	for range n {
		if !out.Available() {
			return now, false, nil
		}
		if g.applied > 0 {
			due := g.start.Add(time.Duration(float64(g.sent) * float64(time.Second) / g.applied))
			if due.After(now) {
				return due, false, nil
			}
			if now.Sub(due) > maxLag { // held back by backpressure: do not burst to catch up
				g.start, g.sent = now, 0
			}
		}
		if err := out.Emit(ts, g.nextKey(), g.value); err != nil {
			return now, false, err
		}
		g.sent++
		g.total++
	}
	return now, g.cfg.count > 0 && g.total >= g.cfg.count, nil
}

var _ Stateful = (*generator)(nil)

// generatorStateVersion is the first byte of a generator's operator state,
// followed by the records it has emitted ever (8 bytes, little-endian) and
// the state of its random source (PCG.MarshalBinary).
const generatorStateVersion = 1

// generatorStateMax bounds the size of a generator's state: a version byte,
// its count and its random generator's state (20 bytes).
const generatorStateMax = 64

// SnapshotState implements Stateful: the generator's position is the
// records it has emitted and the state of its random source, which decide
// every record it emits next (values are always the same, timestamps are
// the time of emission). The rate schedule is not part of it.
func (g *generator) SnapshotState() (OperatorState, error) {
	rng, err := g.pcg.MarshalBinary()
	if err != nil {
		return OperatorState{}, fmt.Errorf("generator state: %w", err)
	}
	b := make([]byte, 0, 1+8+len(rng))
	b = append(b, generatorStateVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(g.total))
	return OperatorState{Operator: append(b, rng...)}, nil
}

// RestoreState implements Stateful: the generator goes on from the position
// in st, emitting what the generator that took it would have emitted next,
// at its rate from now on (no records are owed for the time in between).
// Empty operator state (a subtask a rescale adds) starts from the beginning.
func (g *generator) RestoreState(st OperatorState) error {
	b := st.Operator
	if len(b) == 0 {
		return nil
	}
	if b[0] != generatorStateVersion {
		return fmt.Errorf("generator state does not decode: version %d, want %d", b[0], generatorStateVersion)
	}
	if len(b) < 1+8 {
		return fmt.Errorf("generator state does not decode: %d bytes, too short", len(b))
	}
	total := int64(binary.LittleEndian.Uint64(b[1:]))
	if total < 0 {
		return fmt.Errorf("generator state does not decode: %d records emitted", total)
	}
	var pcg rand.PCG
	if err := pcg.UnmarshalBinary(b[1+8:]); err != nil {
		return fmt.Errorf("generator state does not decode: random source: %w", err)
	}
	*g.pcg = pcg
	g.total = total
	g.applied = -1 // the schedule starts again at the next Emit
	return nil
}

func (g *generator) nextKey() []byte {
	var k int
	if g.cfg.cdf != nil {
		k = sort.SearchFloat64s(g.cfg.cdf, g.rng.Float64())
		k = min(k, len(g.cfg.cdf)-1)
	} else {
		k = g.rng.IntN(g.cfg.keys)
	}
	if g.cfg.ends != nil {
		var from uint32
		if k > 0 {
			from = g.cfg.ends[k-1]
		}
		return g.cfg.names[from:g.cfg.ends[k]:g.cfg.ends[k]]
	}
	g.key = appendKey(g.key[:0], k)
	return g.key
}

// appendKey appends the name of key k.
func appendKey(dst []byte, k int) []byte {
	return strconv.AppendInt(append(dst, "key-"...), int64(k), 10)
}
